import numpy as np
import pytest
import torch

from app.rbm.errors import InvalidInput, TooLarge
from app.rbm.likelihood import (
    all_binary_states,
    empirical_distribution,
    kl_divergence,
    log_likelihood,
    log_prob_all_states,
    pseudo_log_likelihood,
)
from app.rbm.partition import exact_log_partition
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb, random_gb


def test_all_binary_states_order():
    s = all_binary_states(3)
    assert s.tolist()[1] == [0, 0, 1] and s.tolist()[4] == [1, 0, 0] and s.shape == (8, 3)
    np.testing.assert_array_equal(s.numpy(), ref.states(3))


@pytest.mark.parametrize("V,H,scale,seed", [(4, 3, 0.5, 0), (6, 8, 2.0, 1), (7, 2, 4.0, 2)])
def test_log_prob_all_states_and_log_likelihood(V, H, scale, seed):
    m = random_bb(V, H, scale, seed)
    expected = ref.bb_log_prob(*np_params(m))
    got = log_prob_all_states(m)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)
    assert float(torch.logsumexp(got, 0)) == pytest.approx(0.0, abs=1e-10)
    v = all_binary_states(V, dtype=torch.float64)[[0, 3, 5]]
    ll = log_likelihood(m, v, exact_log_partition(m))
    np.testing.assert_allclose(ll.numpy(), expected[[0, 3, 5]], atol=1e-9)


def test_gaussian_log_likelihood_is_a_density():
    m = random_gb(2, 3, 1.0, 0)
    W, a, b, ls = np_params(m)
    v = np.random.default_rng(0).normal(size=(5, 2))
    got = log_likelihood(m, torch.from_numpy(v), exact_log_partition(m)).numpy()
    expected = -ref.gb_free_energy(v, W, a, b, ls) - ref.gb_log_z(W, a, b, ls)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # direct mixture-of-Gaussians density as a second, independent check
    w, mus, s2 = ref.gb_mixture(W, a, b, ls)
    dens = (w[None, :] * np.exp(-((v[:, None, :] - mus[None]) ** 2 / (2 * s2)).sum(-1)) / np.sqrt((2 * np.pi * s2).prod())).sum(1)
    np.testing.assert_allclose(got, np.log(dens), atol=1e-9)


@pytest.mark.parametrize("V,H,scale,seed", [(5, 4, 1.0, 0), (8, 6, 3.0, 1), (3, 10, 0.3, 2)])
def test_pseudo_log_likelihood(V, H, scale, seed):
    m = random_bb(V, H, scale, seed)
    v = ref.states(V)
    expected = ref.bb_pseudo_log_likelihood(v, *np_params(m))
    np.testing.assert_allclose(pseudo_log_likelihood(m, torch.from_numpy(v)).numpy(), expected, atol=1e-9)


def test_pseudo_log_likelihood_chunks(monkeypatch):
    import app.rbm.likelihood as lik

    m = random_bb(6, 5, 1.0, 3)
    v = torch.from_numpy(ref.states(6))
    full = pseudo_log_likelihood(m, v)
    monkeypatch.setattr(lik, "ELEMENT_BUDGET", 60)  # 2 rows per chunk
    torch.testing.assert_close(pseudo_log_likelihood(m, v), full)


def test_pseudo_log_likelihood_gaussian_rejected():
    with pytest.raises(InvalidInput):
        pseudo_log_likelihood(random_gb(2, 2, 1.0, 0), torch.zeros(1, 2))


def test_empirical_distribution_and_kl():
    data = torch.tensor([[0, 0, 1], [0, 0, 1], [1, 1, 1], [1, 0, 0]], dtype=torch.float32)
    emp = empirical_distribution(data)
    expected = np.zeros(8)
    expected[[1, 7, 4]] = [0.5, 0.25, 0.25]
    np.testing.assert_allclose(emp.numpy(), expected)
    m = random_bb(3, 4, 1.5, 0)
    logq = ref.bb_log_prob(*np_params(m))
    kl = float(sum(p * (np.log(p) - lq) for p, lq in zip(expected, logq) if p > 0))
    assert kl_divergence(emp, m) == pytest.approx(kl, abs=1e-10)
    assert kl_divergence(torch.from_numpy(np.exp(logq)), m) == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(InvalidInput):
        kl_divergence(torch.ones(8), m)
    with pytest.raises(InvalidInput):
        kl_divergence(torch.ones(4) / 4, m)
    with pytest.raises(InvalidInput):
        empirical_distribution(torch.full((2, 3), 0.5))
    with pytest.raises(TooLarge):
        log_prob_all_states(random_bb(21, 2, 1.0, 0))
