"""What samples.png draws of a sample set: binary samples as they are, gaussian ones as E[v | h]."""

from __future__ import annotations

import torch

from app.pictures.service import shown_samples
from app.rbm.model import BernoulliRBM, GaussianRBM
from app.rbm.sampling import draw_samples


def _whitened_gaussian() -> GaussianRBM:
    g = torch.Generator().manual_seed(0)
    data = torch.rand(200, 6, generator=g, dtype=torch.float64) @ torch.rand(6, 6, generator=g, dtype=torch.float64)
    return GaussianRBM.init_random(6, 3, generator=g, data=data, standardize="whiten", dtype=torch.float64)


def test_gaussian_samples_are_shown_as_the_means_of_their_hidden_states():
    m = _whitened_gaussian()
    res = draw_samples(m, n_samples=5, steps=3, generator=torch.Generator().manual_seed(1), return_hidden=True)
    shown = shown_samples(m, res)
    # E[v | h] by hand: (a + W h) in the model's basis, rotated back to pixels
    expected = (m.visible_bias + res.hidden @ m.weight.T) @ m.visible_rotation.T
    torch.testing.assert_close(shown, expected)
    assert not torch.allclose(shown, res.samples)  # the noisy draw itself is not what is shown


def test_binary_samples_and_gaussian_ones_without_hidden_states_are_shown_as_drawn():
    g = torch.Generator().manual_seed(2)
    b = BernoulliRBM.init_random(6, 3, generator=g)
    res = draw_samples(b, n_samples=4, steps=2, generator=g, return_hidden=True)
    assert torch.equal(shown_samples(b, res), res.samples)
    m = _whitened_gaussian()
    res = draw_samples(m, n_samples=4, steps=2, generator=g)
    assert torch.equal(shown_samples(m, res), res.samples)
