"""Training with persistent parallel-tempering chains (method='pt')."""

import math

import pytest
import torch

from app.rbm.likelihood import log_likelihood
from app.rbm.model import BernoulliRBM
from app.rbm.partition import exact_log_partition
from app.rbm.tempering import TemperedChains
from app.rbm.training import Trainer, TrainingConfig
from tests.rbm.test_training import _bars_and_stripes, _digits_like


def test_pt_resume_from_state_dict_is_bit_identical():
    data = _digits_like()
    config = TrainingConfig(method="pt", n_replicas=4, k=3, epochs=4, batch_size=32, n_chains=20)
    make = lambda seed: BernoulliRBM.init_random(16, 8, generator=torch.Generator().manual_seed(seed), data=data)  # noqa: E731
    full = make(0)
    Trainer(full, data, config).fit()
    first = make(0)
    tr = Trainer(first, data, config)
    tr.fit(lambda epoch, metrics: epoch < 2)
    state = {k: v.clone() for k, v in tr.state_dict().items()}
    assert state["chains.visible"].shape == (4 * 20, 16) and int(state["chains.sweeps"]) == 2 * tr._batches_per_epoch * 3
    other = make(99)
    resumed = Trainer(other, data, config)
    resumed.load_state_dict(state)
    resumed.fit()
    for name, t in full.parameters().items():
        assert torch.equal(t, other.parameters()[name]), name


def test_pt_reports_swap_rates_and_exposes_its_chains():
    data = _digits_like()
    tr = Trainer(BernoulliRBM.init_random(16, 8, generator=torch.Generator().manual_seed(0), data=data), data,
                 TrainingConfig(method="pt", n_replicas=5, epochs=1, batch_size=32, n_chains=12))
    assert isinstance(tr.chains, TemperedChains) and tr.chains.betas[0] == 1.0 and tr.chains.betas[-1] == 0.0
    metrics = tr.run_epoch()
    assert 0.0 <= metrics["pt_swap_acceptance_min"] <= metrics["pt_swap_acceptance_mean"] <= 1.0
    chains = tr.persistent_chains()
    assert chains.shape == (12, 16) and set(chains.unique().tolist()) <= {0.0, 1.0}
    cd = Trainer(BernoulliRBM.init_random(16, 8, generator=torch.Generator().manual_seed(0), data=data), data,
                 TrainingConfig(method="cd", epochs=1))
    assert cd.persistent_chains() is None
    with pytest.raises(ValueError, match="n_replicas"):
        TrainingConfig(method="pt", n_replicas=1).validate()


@pytest.mark.parametrize("seed", [0, 1])
def test_pt_beats_pcd_and_nears_the_optimum_on_bars_and_stripes(seed):
    """Same updates, batch and schedule: the PT negative phase reaches the 14 patterns' optimum
    (-ln 14) within 0.3 nats, where PCD's few Gibbs chains get stuck between the bar and stripe modes."""
    data = _bars_and_stripes().repeat(2, 1)  # 28 rows
    ll = {}
    for method in ("pcd", "pt"):
        m = BernoulliRBM.init_random(9, 12, generator=torch.Generator().manual_seed(seed), data=data, dtype=torch.float64)
        cfg = TrainingConfig(method=method, epochs=700, batch_size=7, learning_rate=0.1, seed=seed, monitor_size=1,
                             n_replicas=6)
        Trainer(m, data, cfg).fit()
        ll[method] = float(log_likelihood(m, data, exact_log_partition(m)).mean())
    assert ll["pt"] > -math.log(14) - 0.3, ll
    assert ll["pt"] > ll["pcd"], ll


@pytest.mark.parametrize("method", ["pcd", "pt"])
def test_tail_average_is_the_mean_of_the_last_updates_parameters(method):
    """Second computation: the same run without averaging, its parameters recorded after every update."""
    data = _digits_like()
    cfg = dict(method=method, n_replicas=3, epochs=5, batch_size=32, n_chains=10)
    make = lambda: BernoulliRBM.init_random(16, 8, generator=torch.Generator().manual_seed(0), data=data)  # noqa: E731
    averaged = make()
    tr = Trainer(averaged, data, TrainingConfig(average_tail=0.4, **cfg))
    assert tr.config.average_tail == 0.4 and Trainer(make(), data, TrainingConfig(**cfg)).config.average_tail == 0.3
    tr.fit()
    plain = make()
    ref = Trainer(plain, data, TrainingConfig(average_tail=0.0, **cfg))
    trace, update = [], ref._update
    ref._update = lambda idx, lr: (update(idx, lr), trace.append({k: v.clone() for k, v in plain.parameters().items()}))
    ref.fit()
    tail = trace[math.ceil(0.6 * len(trace)):]
    assert len(trace) == ref._total_steps and 0 < tr._averaged == len(tail)
    for name, t in averaged.parameters().items():
        mean = torch.stack([p[name] for p in tail]).mean(0)
        assert torch.allclose(t, mean, atol=1e-5), name
        assert not torch.allclose(trace[-1][name], mean, atol=1e-5), name
