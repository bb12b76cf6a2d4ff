import math

import numpy as np
import pytest
import torch

from app.rbm.errors import InvalidInput
from app.rbm.likelihood import empirical_distribution
from app.rbm.sampling import draw_samples, gibbs, metropolis
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb, random_gb


def tv_bound(p: np.ndarray, n: int, delta: float = 1e-4) -> float:
    """Bound on TV(empirical of n iid draws, p) holding with prob >= 1 - delta.

    E[TV] <= 1/2 sum_x sqrt(p(x)(1-p(x))/n) (Jensen on each |p_hat - p|), and TV
    changes by at most 1/n per draw, so McDiarmid adds sqrt(log(1/delta)/(2n)).
    """
    return 0.5 * np.sqrt(p * (1 - p) / n).sum() + math.sqrt(math.log(1 / delta) / (2 * n))


N = 20000


@pytest.mark.parametrize("sampler", ["gibbs", "metropolis"])
def test_samples_match_exact_distribution(sampler):
    m = random_bb(7, 5, 1.0, 0)
    p = np.exp(ref.bb_log_prob(*np_params(m)))
    g = torch.Generator().manual_seed(1)
    res = draw_samples(m, n_samples=N, steps=40, sampler=sampler, generator=g)
    tv = 0.5 * np.abs(empirical_distribution(res.samples).numpy() - p).sum()
    assert tv < tv_bound(p, N), (tv, tv_bound(p, N))
    if sampler == "metropolis":
        assert 0 < res.acceptance_rate < 1
    else:
        assert res.acceptance_rate is None


def test_tempered_gibbs_matches_tempered_distribution():
    m = random_bb(6, 4, 1.5, 2)
    W, a, b = np_params(m)
    beta = 0.5
    logp = -ref.bb_free_energy(ref.states(6), W, a, b, beta)
    p = np.exp(logp - np.logaddexp.reduce(logp))
    v = gibbs(m, torch.zeros(N, 6, dtype=torch.float64), 30, generator=torch.Generator().manual_seed(0), beta=beta)
    tv = 0.5 * np.abs(empirical_distribution(v).numpy() - p).sum()
    assert tv < tv_bound(p, N)
    v2, acc = metropolis(m, torch.zeros(N, 6, dtype=torch.float64), 30, generator=torch.Generator().manual_seed(0), beta=beta)
    assert 0.5 * np.abs(empirical_distribution(v2).numpy() - p).sum() < tv_bound(p, N)


def test_metropolis_gaussian_matches_exact_moments():
    m = random_gb(2, 3, 0.7, 0)  # bimodal enough to matter, mixing within the sweeps used
    mean, var = ref.gb_moments(*np_params(m))
    n = 8000
    g = torch.Generator().manual_seed(0)
    v, acc = metropolis(m, torch.zeros(n, 2, dtype=torch.float64), 150, generator=g)
    assert 0.1 < acc < 0.9
    se_mean = np.sqrt(var / n)
    np.testing.assert_array_less(np.abs(v.mean(0).numpy() - mean), 5 * se_mean)
    # variance of the sample variance ~ 2 var^2 / n for near-Gaussian marginals; allow kurtosis slack
    np.testing.assert_array_less(np.abs(v.var(0).numpy() - var), 5 * var * np.sqrt(3.0 / n))
    res = draw_samples(m, n_samples=n, steps=150, sampler="gibbs", generator=g)
    np.testing.assert_array_less(np.abs(res.samples.mean(0).numpy() - mean), 5 * se_mean)


def test_metropolis_keeps_incremental_preactivation_exact():
    """The O(H) rank-one updates must agree with a from-scratch pre-activation."""
    from app.rbm.sampling import _Metropolis

    m = random_bb(9, 6, 1.0, 1)
    mh = _Metropolis(m, torch.zeros(50, 9, dtype=torch.float64), torch.Generator().manual_seed(0), 1.0, None)
    mh.sweep()
    torch.testing.assert_close(mh.pre, m.hidden_preactivation(mh.v))
    gm = random_gb(3, 4, 1.0, 1)
    mh = _Metropolis(gm, torch.zeros(50, 3, dtype=torch.float64), torch.Generator().manual_seed(0), 1.0, 0.5)
    mh.sweep()
    torch.testing.assert_close(mh.pre, gm.hidden_preactivation(mh.v))


def test_draw_samples_shapes_init_thinning_and_seed():
    m = random_bb(5, 3, 1.0, 0, dtype=torch.float32)
    init = torch.tensor([[1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], dtype=torch.float32)
    r = draw_samples(m, n_samples=5, steps=0, init=init, generator=torch.Generator().manual_seed(0))
    assert torch.equal(r.samples, init[[0, 1, 0, 1, 0]])
    r = draw_samples(m, n_samples=7, steps=3, thin=2, n_chains=3, return_hidden=True, generator=torch.Generator().manual_seed(0))
    assert r.samples.shape == (7, 5) and r.hidden.shape == (7, 3)
    assert set(r.samples.unique().tolist()) <= {0.0, 1.0} and set(r.hidden.unique().tolist()) <= {0.0, 1.0}
    again = draw_samples(m, n_samples=7, steps=3, thin=2, n_chains=3, return_hidden=True,
                         generator=torch.Generator().manual_seed(0))
    assert torch.equal(r.samples, again.samples) and torch.equal(r.hidden, again.hidden)
    gm = random_gb(4, 2, 1.0, 0)
    r = draw_samples(gm, n_samples=4, steps=2, sampler="metropolis", generator=torch.Generator().manual_seed(0))
    assert r.samples.shape == (4, 4) and r.acceptance_rate is not None
    with pytest.raises(InvalidInput):
        draw_samples(m, n_samples=2, steps=1, init=torch.zeros(2, 4), generator=torch.Generator())
    with pytest.raises(InvalidInput):
        draw_samples(m, n_samples=2, steps=1, sampler="hmc", generator=torch.Generator())  # type: ignore[arg-type]


def test_gibbs_does_not_modify_input():
    m = random_bb(4, 3, 1.0, 0)
    v0 = torch.ones(3, 4, dtype=torch.float64)
    gibbs(m, v0, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(v0, torch.ones(3, 4, dtype=torch.float64))
