import numpy as np
import pytest
import torch

from app.rbm.errors import InvalidInput, InvalidWeights
from app.rbm.model import BernoulliRBM, GaussianRBM, model_from_tensors
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb, random_gb


@pytest.mark.parametrize("V,H,scale,seed", [(5, 4, 0.5, 0), (6, 7, 2.0, 1), (3, 9, 4.0, 2)])
def test_bernoulli_free_energy_energy_and_conditionals(V, H, scale, seed):
    m = random_bb(V, H, scale, seed)
    W, a, b = np_params(m)
    v = ref.states(V)
    vt = torch.from_numpy(v)
    np.testing.assert_allclose(m.free_energy(vt).numpy(), ref.bb_free_energy(v, W, a, b), rtol=1e-10, atol=1e-10)
    for beta in (0.3, 1.7):
        np.testing.assert_allclose(
            m.free_energy(vt, beta=beta).numpy(), ref.bb_free_energy(v, W, a, b, beta), rtol=1e-10, atol=1e-10
        )
    np.testing.assert_allclose(m.hidden_probs(vt).numpy(), ref.bb_hidden_probs(v, W, a, b), rtol=1e-9, atol=1e-12)
    hs = ref.states(H)
    E = ref.bb_energy(v, hs, W, a, b)
    i, j = np.meshgrid(np.arange(len(v)), np.arange(len(hs)), indexing="ij")
    got = m.energy(vt[i.ravel()], torch.from_numpy(hs)[j.ravel()]).numpy()
    np.testing.assert_allclose(got, E.ravel(), rtol=1e-10, atol=1e-10)
    # p(v_i = 1 | h) from the joint energy over v.
    logp = -E.T  # (h, v)
    pv = np.exp(logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)) @ v
    np.testing.assert_allclose(m.visible_mean(torch.from_numpy(hs)).numpy(), pv, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("V,H,seed", [(2, 3, 0), (4, 5, 1)])
def test_gaussian_free_energy_and_conditionals(V, H, seed):
    m = random_gb(V, H, 1.0, seed)
    W, a, b, ls = np_params(m)
    v = np.random.default_rng(seed).normal(size=(7, V)) * 2
    vt = torch.from_numpy(v)
    np.testing.assert_allclose(m.free_energy(vt).numpy(), ref.gb_free_energy(v, W, a, b, ls), rtol=1e-10, atol=1e-10)
    hs = ref.states(H)
    logp = -ref.gb_energy(v, hs, W, a, b, ls)
    post = np.exp(logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)) @ hs
    np.testing.assert_allclose(m.hidden_probs(vt).numpy(), post, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.visible_mean(torch.from_numpy(hs)).numpy(), a + hs @ W.T, rtol=1e-12)


def test_gaussian_tempered_conditional_variance():
    m = random_gb(3, 2, 1.0, 0)
    g = torch.Generator().manual_seed(0)
    h = torch.ones(200000, 2, dtype=torch.float64)
    beta = 0.25
    v = m.sample_visible(h, g, beta=beta)
    np.testing.assert_allclose(v.var(0).numpy(), (m.sigma**2 / beta).numpy(), rtol=0.02)
    np.testing.assert_allclose(v.mean(0).numpy(), m.visible_mean(h[:1])[0].numpy(), atol=0.02)


def test_sampling_is_binary_and_seeded():
    m = random_bb(6, 4, 1.0, 0, dtype=torch.float32)
    v = torch.ones(5, 6)
    h1 = m.sample_hidden(v, torch.Generator().manual_seed(3))
    h2 = m.sample_hidden(v, torch.Generator().manual_seed(3))
    assert torch.equal(h1, h2) and set(h1.unique().tolist()) <= {0.0, 1.0}
    assert set(m.sample_visible(h1, torch.Generator().manual_seed(1)).unique().tolist()) <= {0.0, 1.0}


def test_validate_input_messages():
    m = random_bb(64, 3, 1.0, 0, dtype=torch.float32)
    with pytest.raises(InvalidInput, match="expected vectors of length 64, got 63"):
        m.validate_input(torch.zeros(2, 63))
    with pytest.raises(InvalidInput, match="NaN"):
        m.validate_input(torch.full((1, 64), float("nan")))
    with pytest.raises(InvalidInput, match="0 or 1"):
        m.validate_input(torch.full((1, 64), 0.5))
    with pytest.raises(InvalidInput, match="2-D"):
        m.validate_input(torch.zeros(64))
    m.validate_input(torch.ones(3, 64))
    gm = random_gb(4, 2, 1.0, 0)
    gm.validate_input(torch.randn(3, 4))
    with pytest.raises(InvalidInput):
        gm.validate_input(torch.tensor([[1.0, float("inf"), 0.0, 0.0]]))


def test_init_random_uses_data_statistics():
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(1000, 5, generator=g) < torch.tensor([0.1, 0.5, 0.9, 0.0, 1.0])).float()
    m = BernoulliRBM.init_random(5, 7, generator=g, data=data)
    p = data.mean(0).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(m.visible_bias, torch.log(p / (1 - p)))
    assert torch.isfinite(m.visible_bias).all() and m.hidden_bias.abs().sum() == 0
    assert 0.005 < float(m.weight.std()) < 0.015 and m.dtype == torch.float32
    x = torch.randn(2000, 3, generator=g) * torch.tensor([1.0, 2.0, 3.0]) + 4
    gm = GaussianRBM.init_random(3, 2, generator=g, data=x, dtype=torch.float64)
    torch.testing.assert_close(gm.visible_bias, x.double().mean(0))
    torch.testing.assert_close(gm.sigma, x.double().std(0))
    gm2 = GaussianRBM.init_random(3, 2, generator=g, data=x, sigma=0.5)
    torch.testing.assert_close(gm2.sigma, torch.full((3,), 0.5))
    w1 = BernoulliRBM.init_random(4, 3, generator=torch.Generator().manual_seed(5)).weight
    w2 = BernoulliRBM.init_random(4, 3, generator=torch.Generator().manual_seed(5)).weight
    assert torch.equal(w1, w2)


def test_to_returns_new_model_and_tensors_names():
    gm = random_gb(3, 2, 1.0, 0)
    g32 = gm.to(dtype=torch.float32)
    assert g32.dtype == torch.float32 and gm.dtype == torch.float64 and g32.weight is not gm.weight
    assert set(gm.tensors()) == {"weight", "visible_bias", "hidden_bias", "visible_log_sigma"}
    assert set(random_bb(3, 2, 1, 0).tensors()) == {"weight", "visible_bias", "hidden_bias"}
    assert (gm.n_visible, gm.n_hidden, gm.device.type) == (3, 2, "cpu")


def test_model_from_tensors_rejections():
    good = random_gb(3, 2, 1.0, 0).tensors()
    assert isinstance(model_from_tensors(good, "gaussian"), GaussianRBM)
    with pytest.raises(InvalidWeights, match="unknown visible_type"):
        model_from_tensors(good, "poisson")
    with pytest.raises(InvalidWeights, match="unexpected"):
        model_from_tensors(good, "bernoulli")
    bad = dict(good, hidden_bias=torch.zeros(5, dtype=torch.float64))
    with pytest.raises(InvalidWeights, match="hidden_bias"):
        model_from_tensors(bad, "gaussian")
    bad = dict(good, weight=good["weight"].clone().fill_(float("nan")))
    with pytest.raises(InvalidWeights, match="NaN"):
        model_from_tensors(bad, "gaussian")
    bad = {k: v for k, v in good.items() if k != "visible_log_sigma"}
    with pytest.raises(InvalidWeights, match="missing"):
        model_from_tensors(bad, "gaussian")
    bad = dict(good, weight=good["weight"].long())
    with pytest.raises(InvalidWeights, match="dtype"):
        model_from_tensors(bad, "gaussian")
