import math

import numpy as np
import pytest
import torch
from scipy import integrate

from app.rbm.errors import InvalidInput, TooLarge
from app.rbm.likelihood import all_binary_states, log_prob_all_states
from app.rbm.partition import ais_log_partition, exact_log_partition
from tests.rbm import reference as ref
from tests.rbm.models import exact_samples, np_params, random_bb, random_gb


@pytest.mark.parametrize(
    "V,H,scale,seed",
    [(4, 3, 0.1, 0), (5, 8, 1.0, 1), (8, 5, 2.0, 2), (7, 7, 5.0, 3), (1, 6, 3.0, 4), (9, 1, 1.0, 5)],
)
def test_bernoulli_exact_log_z_matches_joint_enumeration(V, H, scale, seed):
    m = random_bb(V, H, scale, seed)
    expected = ref.bb_log_z(*np_params(m))
    assert exact_log_partition(m) == pytest.approx(expected, abs=1e-9)
    # tiny chunks exercise the high/low split of the enumeration
    assert exact_log_partition(m, chunk_size=2) == pytest.approx(expected, abs=1e-9)
    # float32 model: still accurate thanks to float64 accumulation
    assert exact_log_partition(m.to(dtype=torch.float32)) == pytest.approx(expected, abs=1e-3 * max(1, scale))


def test_gaussian_exact_log_z_against_numerical_integration():
    m1 = random_gb(1, 3, 1.0, 0)
    W, a, b, ls = np_params(m1)
    f = lambda x: math.exp(-ref.gb_free_energy(np.array([[x]]), W, a, b, ls)[0])  # noqa: E731
    z1, _ = integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-11)
    assert exact_log_partition(m1) == pytest.approx(math.log(z1), abs=1e-7)
    m2 = random_gb(2, 2, 0.8, 1)
    W, a, b, ls = np_params(m2)
    # trapezoid rule on a fine grid: spectrally accurate for a smooth, fast-decaying integrand
    x = np.linspace(-15, 15, 1501)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    vals = np.exp(-ref.gb_free_energy(np.stack([xx.ravel(), yy.ravel()], 1), W, a, b, ls)).reshape(xx.shape)
    z2 = integrate.trapezoid(integrate.trapezoid(vals, x, axis=1), x)
    assert exact_log_partition(m2) == pytest.approx(math.log(z2), abs=1e-5)
    # and the independent per-h Gaussian formula of the reference agrees with quadrature
    assert ref.gb_log_z(W, a, b, ls) == pytest.approx(math.log(z2), abs=1e-5)


@pytest.mark.parametrize("V,H,scale,seed", [(3, 4, 1.0, 0), (10, 6, 0.5, 1), (6, 9, 2.0, 2)])
def test_gaussian_exact_log_z_matches_reference(V, H, scale, seed):
    m = random_gb(V, H, scale, seed)
    assert exact_log_partition(m, chunk_size=4) == pytest.approx(ref.gb_log_z(*np_params(m)), abs=1e-9)


def test_too_large():
    with pytest.raises(TooLarge):
        exact_log_partition(random_bb(30, 30, 0.1, 0, torch.float32))
    with pytest.raises(TooLarge):
        exact_log_partition(random_gb(2, 30, 0.1, 0))
    exact_log_partition(random_bb(30, 3, 0.1, 0))  # only the smaller layer matters


def _data_from_model(m, n, seed):
    if m.visible_type == "bernoulli":
        idx = exact_samples(log_prob_all_states(m), n, seed)
        return all_binary_states(m.n_visible, dtype=m.dtype)[idx]
    w, mus, s2 = ref.gb_mixture(*np_params(m))
    rng = np.random.default_rng(seed)
    comp = rng.choice(len(w), size=n, p=w)
    return torch.from_numpy(mus[comp] + rng.normal(size=(n, m.n_visible)) * np.sqrt(s2))


@pytest.mark.parametrize(
    "model",
    [random_bb(12, 10, 1.0, 0), random_bb(10, 14, 2.0, 1), random_gb(5, 6, 0.5, 2), random_gb(8, 4, 1.0, 3)],
    ids=["bb-12x10", "bb-10x14-strong", "gb-5x6", "gb-8x4"],
)
def test_ais_forward_and_reverse_within_005_nats_at_1000_betas(model):
    exact = exact_log_partition(model)
    data = _data_from_model(model, 200, seed=7)
    g = torch.Generator().manual_seed(0)
    fwd = ais_log_partition(model, n_runs=100, n_betas=1000, generator=g, data=data)
    rev = ais_log_partition(model, n_runs=100, n_betas=1000, generator=g, data=data, reverse=True)
    assert abs(fwd.log_z - exact) < 0.05 and abs(rev.log_z - exact) < 0.05
    assert 0 < fwd.log_z_std < 0.05 and 0 < rev.log_z_std < 0.05
    assert fwd.log_weights.shape == (100,)


def test_ais_without_data_and_explicit_base():
    m = random_bb(8, 6, 1.0, 3)
    exact = exact_log_partition(m)
    g = torch.Generator().manual_seed(1)
    assert abs(ais_log_partition(m, n_runs=100, n_betas=1000, generator=g).log_z - exact) < 0.05
    base = torch.zeros(8, dtype=torch.float64)
    assert abs(ais_log_partition(m, n_runs=100, n_betas=1000, generator=g, base_visible_bias=base).log_z - exact) < 0.05
    with pytest.raises(InvalidInput):
        ais_log_partition(m, generator=g, reverse=True)


@pytest.mark.parametrize("seed", range(4))
def test_ais_bracket_forward_below_reverse_above(seed):
    """Jensen: each forward run's log Z estimate is below log Z on average, each reverse run's above.

    With a short schedule (30 betas) the bias dominates the noise, so the
    run-averaged log-weights bracket the truth.
    """
    m = random_bb(10, 8, 2.0, 10 + seed)
    exact = exact_log_partition(m)
    data = _data_from_model(m, 300, seed)
    g = torch.Generator().manual_seed(seed)
    fwd = ais_log_partition(m, n_runs=300, n_betas=30, generator=g, data=data)
    rev = ais_log_partition(m, n_runs=300, n_betas=30, generator=g, data=data, reverse=True)
    log_z0_f = fwd.log_z - (torch.logsumexp(fwd.log_weights, 0).item() - math.log(300))
    log_z0_r = rev.log_z + (torch.logsumexp(rev.log_weights, 0).item() - math.log(300))
    assert log_z0_f + fwd.log_weights.mean().item() < exact
    assert log_z0_r - rev.log_weights.mean().item() > exact


@pytest.mark.parametrize("betas", [(0.0, 0.0), (1e-4, 0.0), (0.5, 0.4999), (1.0, 0.9999)])
def test_float32_ais_step_weight_matches_float64_free_energies(betas):
    """The float32 AIS runner's log-weight increment ``log p*_hi(v) - log p*_lo(v)`` against the
    same quantity from float64 free energies on the annealed path, computed independently here:
    ``(b_hi - b_lo) (a - a0).v + sum_j [softplus(b_hi x_j) - softplus(b_lo x_j)]``, x = b + vW."""
    from app.rbm.partition import _BernoulliAIS, ais_base

    m64 = random_bb(784, 500, 0.05, 3)
    m32 = type(m64)(*(t.to(torch.float32) for t in (m64.weight, m64.visible_bias, m64.hidden_bias)))
    path = ais_base(m32)
    v = (torch.rand(64, 784, generator=torch.Generator().manual_seed(0)) < 0.2).to(torch.float32)
    runner = _BernoulliAIS(path, v, torch.Generator().manual_seed(0))
    hi, lo = betas
    got = runner.log_ratio(hi, lo)
    v64, a0 = v.to(torch.float64), path.base.to(torch.float64)
    x = m64.hidden_bias + v64 @ m64.weight
    sp = torch.nn.functional.softplus
    want = (hi - lo) * (v64 @ (m64.visible_bias - a0)) + (sp(hi * x) - sp(lo * x)).sum(dim=1)
    assert got.dtype == torch.float64
    # float32 inputs and products carry ~1e-7 relative error on terms of size ~|x| ~ 1
    assert torch.allclose(got, want, rtol=0, atol=2e-4 * max(hi - lo, 1e-3) + 2e-5)
