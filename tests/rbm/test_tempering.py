"""Parallel tempering against exact enumeration, and its swap rule against an independent formula."""

import math

import numpy as np
import pytest
import torch

from app.rbm.errors import InvalidInput
from app.rbm.likelihood import empirical_distribution
from app.rbm.sampling import draw_samples
from app.rbm.tempering import (
    TemperedChains, TemperingBase, base_from_data, check_betas, default_betas, respace_betas,
)
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb, random_gb
from tests.rbm.test_sampling import tv_bound


def bimodal_bb(V: int = 8, strength: float = 6.0) -> "BernoulliRBM":  # noqa: F821
    """One hidden unit that switches all visibles from mostly-off to mostly-on: two modes of equal
    weight (b = -strength V / 2) that single-temperature Gibbs crosses with probability ~3e-4 per sweep."""
    from app.rbm.model import BernoulliRBM

    W = torch.full((V, 1), strength, dtype=torch.float64)
    a = torch.full((V,), -strength / 2, dtype=torch.float64)
    b = torch.full((1,), -strength * V / 2, dtype=torch.float64)
    return BernoulliRBM(W, a, b)


def tempered_log_probs(W, a, b, a0, beta):
    """log p_beta(v), normalised, on the path exp(-(1-beta) E_0 - beta E) with the hidden units summed."""
    v = ref.states(W.shape[0])
    logp = v @ ((1 - beta) * a0 + beta * a) + np.logaddexp(0, beta * (b + v @ W)).sum(axis=1)
    return logp - np.logaddexp.reduce(logp)


@pytest.mark.parametrize("seed", [0, 1])
def test_target_and_hot_replicas_match_exact_distributions(seed):
    m = random_bb(6, 4, 1.5, seed)
    W, a, b = np_params(m)
    a0 = np.linspace(-1, 1, 6)
    n = 20000
    pt = TemperedChains(m, n, [1.0, 0.6, 0.25, 0.0], generator=torch.Generator().manual_seed(seed),
                        base=TemperingBase(torch.tensor(a0)))
    pt.set_state(torch.zeros(1, 6, dtype=torch.float64))
    pt.sweep(30)
    for r, beta in enumerate(pt.betas):
        p = np.exp(tempered_log_probs(W, a, b, a0, beta))
        emp = empirical_distribution(pt.v[r * n:(r + 1) * n]).numpy()
        tv = 0.5 * np.abs(emp - p).sum()
        assert tv < tv_bound(p, n), (beta, tv, tv_bound(p, n))
    assert all(0.0 < x < 1.0 for x in pt.swap_acceptance)


def test_pt_samples_a_multimodal_model_that_gibbs_does_not():
    m = bimodal_bb()
    W, a, b = np_params(m)
    p = np.exp(ref.bb_log_prob(W, a, b))
    n = 4000
    g = torch.Generator().manual_seed(3)
    start = torch.zeros(1, 8, dtype=torch.float64)  # every chain starts in one mode
    pt = draw_samples(m, n_samples=n, steps=200, sampler="pt", n_replicas=12, init=start, generator=g)
    gib = draw_samples(m, n_samples=n, steps=200, sampler="gibbs", init=start, generator=g)
    tv_pt = 0.5 * np.abs(empirical_distribution(pt.samples).numpy() - p).sum()
    tv_gibbs = 0.5 * np.abs(empirical_distribution(gib.samples).numpy() - p).sum()
    assert tv_pt < tv_bound(p, n), tv_pt
    assert tv_gibbs > 0.3, tv_gibbs  # stuck near the start mode
    assert len(pt.swap_acceptance) == 11 and min(pt.swap_acceptance) > 0.05


def test_swap_acceptance_matches_the_metropolis_ratio_of_joint_states():
    """Accepted fraction of one swap round == mean of min(1, p_i(x_j) p_j(x_i) / p_i(x_i) p_j(x_j)),
    the ratio computed here from model.energy and the base energy directly."""
    m = random_bb(5, 3, 1.0, 4)
    a0 = torch.tensor([0.3, -0.2, 0.1, 0.0, -0.5], dtype=torch.float64)
    n = 40000
    betas = [1.0, 0.4]
    pt = TemperedChains(m, n, betas, generator=torch.Generator().manual_seed(0), base=TemperingBase(a0))
    pt.set_state(torch.bernoulli(torch.full((7, 5), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(1)))
    pt.sweep(3)  # mix the replicas a little, then look at one round on pair (0, 1)
    pt._pairs_attempted.zero_()
    pt._pairs_accepted.zero_()
    with torch.no_grad():
        pt._hidden_step()
        v, h = pt.v.clone(), pt.h.clone()

        def log_p(beta, vv, hh):
            return -(1 - beta) * -(vv @ a0) - beta * m.energy(vv, hh)

        x_i, x_j = (v[:n], h[:n]), (v[n:], h[n:])
        log_ratio = (log_p(betas[0], *x_j) + log_p(betas[1], *x_i) - log_p(betas[0], *x_i) - log_p(betas[1], *x_j))
        expected = torch.exp(log_ratio.clamp_max(0)).mean().item()
        pt._swap_round(0)
    got = pt.swap_acceptance[0]
    assert abs(got - expected) < 5 * math.sqrt(expected * (1 - expected) / n), (got, expected)
    moved = ~(pt.h[:n] == h[:n]).all(dim=1)
    # every accepted swap moved h across (rows whose partner had the same h look unmoved)
    assert torch.equal(pt.h[:n][moved], h[n:][moved])


def test_gaussian_pt_matches_exact_moments():
    m = random_gb(3, 3, 0.8, 0)
    mean, var = ref.gb_moments(*np_params(m))
    n = 20000
    g = torch.Generator().manual_seed(0)
    res = draw_samples(m, n_samples=n, steps=60, sampler="pt", n_replicas=4, generator=g,
                       base=TemperingBase(torch.zeros(3, dtype=torch.float64), torch.full((3,), 2.0, dtype=torch.float64)))
    v = res.samples.numpy()
    np.testing.assert_array_less(np.abs(v.mean(0) - mean), 5 * np.sqrt(var / n))
    np.testing.assert_array_less(np.abs(v.var(0) - var), 5 * var * np.sqrt(3.0 / n))
    assert res.diagnostics is not None and res.betas == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])


def test_one_replica_at_beta_one_is_gibbs():
    m = random_bb(6, 4, 1.0, 5)
    p = np.exp(ref.bb_log_prob(*np_params(m)))
    n = 20000
    res = draw_samples(m, n_samples=n, steps=30, sampler="pt", n_replicas=1, generator=torch.Generator().manual_seed(2))
    assert res.swap_acceptance == []
    tv = 0.5 * np.abs(empirical_distribution(res.samples).numpy() - p).sum()
    assert tv < tv_bound(p, n)


def test_free_energy_trace_is_the_free_energy_of_the_traced_chains():
    m = random_bb(6, 4, 1.0, 6)
    pt = TemperedChains(m, 10, [1.0, 0.5], generator=torch.Generator().manual_seed(0), trace_rows=4)
    pt.set_state(torch.ones(1, 6, dtype=torch.float64))
    v_before = pt.state[:4].clone()
    pt.sweep(3)
    tr = pt.free_energy_trace()
    assert tr.shape == (3, 4)
    torch.testing.assert_close(tr[0], m.free_energy(v_before))


def test_base_from_data_and_ladder_checks():
    m = random_bb(3, 2, 1.0, 0)
    data = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    base = base_from_data(m, data)
    p = torch.tensor([1 - 1e-3, 0.5, 0.5], dtype=torch.float64)
    torch.testing.assert_close(base.mean, torch.log(p / (1 - p)))
    assert default_betas(3) == [1.0, 0.5, 0.0]
    assert default_betas(2, 0.5) == [0.5, 0.0]
    with pytest.raises(InvalidInput):
        check_betas([0.5, 1.0])
    with pytest.raises(InvalidInput):
        check_betas([0.0])
    with pytest.raises(InvalidInput):
        default_betas(0)


def test_respace_betas_evens_out_the_swap_distance():
    assert respace_betas([1.0, 0.5, 0.0], [0.5, 0.5]) == [1.0, 0.5, 0.0]
    even = default_betas(5)
    assert respace_betas(even, [0.4] * 4) == pytest.approx(even)
    new = respace_betas(even, [0.01, 0.9, 0.9, 0.9])  # the pair next to the target is the bottleneck
    assert new[0] == 1.0 and new[-1] == 0.0 and all(b1 < b0 for b0, b1 in zip(new, new[1:]))
    assert new[1] > even[1] and new[2] > even[2]  # replicas move towards beta = 1


def test_adapted_ladder_keeps_the_target_exact_and_raises_the_worst_swap_rate():
    m = bimodal_bb()
    p = np.exp(ref.bb_log_prob(*np_params(m)))
    n = 4000
    start = torch.zeros(1, 8, dtype=torch.float64)
    worst = {}
    for adapt in (False, True):
        res = draw_samples(m, n_samples=n, steps=400, sampler="pt", n_replicas=6, init=start, adapt_ladder=adapt,
                           generator=torch.Generator().manual_seed(5))
        tv = 0.5 * np.abs(empirical_distribution(res.samples).numpy() - p).sum()
        assert tv < tv_bound(p, n), (adapt, tv)
        assert res.betas[0] == 1.0 and res.betas[-1] == 0.0
        worst[adapt] = min(res.swap_acceptance)
    assert worst[True] > worst[False], worst
