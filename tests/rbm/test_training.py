import itertools

import numpy as np
import pytest
import torch

from app.rbm.errors import TrainingDiverged
from app.rbm.likelihood import all_binary_states, log_likelihood
from app.rbm.model import BernoulliRBM, GaussianRBM
from app.rbm.partition import exact_log_partition
from app.rbm.training import Trainer, TrainingConfig, free_energy_gradient
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb, random_gb


def _trainer_gradient(trainer, v_pos, v_neg, weights):
    """The trainer's own statistics rows and gradient, with an exact negative phase."""
    m = trainer.model
    trainer._load_positive(v_pos, m.hidden_probs(v_pos), m._scale_visible(v_pos), v_neg.shape[0])
    trainer._load_negative(v_neg, m.hidden_probs(v_neg), m._scale_visible(v_neg), weights)
    return {k: t.clone() for k, t in trainer._gradient().items()}


def test_bernoulli_update_is_exact_gradient_with_exact_negative_phase():
    m = random_bb(5, 4, 1.0, 0)
    data = torch.from_numpy(ref.states(5)[[1, 4, 7, 19, 30, 30]])
    tr = Trainer(m, data, TrainingConfig(weight_decay=0.0, centering=False))  # standard gradient
    p = torch.from_numpy(np.exp(ref.bb_log_prob(*np_params(m))))
    got = _trainer_gradient(tr, data, all_binary_states(5, dtype=torch.float64), p)
    d = data.numpy()

    def mean_ll(params):
        W, a, b = params
        return float(np.mean(-ref.bb_free_energy(d, W, a, b)) - ref.bb_log_z(W, a, b))

    fd = ref.finite_difference_grad(mean_ll, np_params(m))
    for name, expected in zip(["weight", "visible_bias", "hidden_bias"], fd):
        np.testing.assert_allclose(got[name].numpy(), expected, atol=1e-6)


def test_gaussian_update_is_exact_gradient_including_log_sigma():
    m = random_gb(2, 3, 0.7, 1)
    data = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 2)) + 0.5)
    tr = Trainer(m, data, TrainingConfig(weight_decay=0.0, learn_sigma=True, centering=False))
    # exact model expectation: p(v) is a Gaussian mixture; Gauss-Hermite per component
    w, mus, s2 = ref.gb_mixture(*np_params(m))
    x, gw = np.polynomial.hermite.hermgauss(40)
    nodes, weights = [], []
    for wk, mu in zip(w, mus):
        for (x0, w0), (x1, w1) in itertools.product(zip(x, gw), zip(x, gw)):
            nodes.append(mu + np.sqrt(2 * s2) * np.array([x0, x1]))
            weights.append(wk * w0 * w1 / np.pi)
    got = _trainer_gradient(tr, data, torch.tensor(np.array(nodes)), torch.tensor(weights))
    d = data.numpy()

    def mean_ll(params):
        W, a, b, ls = params
        return float(np.mean(-ref.gb_free_energy(d, W, a, b, ls)) - ref.gb_log_z(W, a, b, ls))

    fd = ref.finite_difference_grad(mean_ll, np_params(m))
    for name, expected in zip(["weight", "visible_bias", "hidden_bias", "log_sigma"], fd):
        np.testing.assert_allclose(got[name].numpy(), expected, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("make", [lambda: random_bb(4, 3, 1.0, 2), lambda: random_gb(3, 2, 1.0, 3)])
def test_free_energy_gradient_matches_finite_differences(make):
    m = make()
    v = torch.from_numpy(np.random.default_rng(1).integers(0, 2, size=(5, m.n_visible)).astype(float))
    got = free_energy_gradient(m, v)
    d = v.numpy()
    if isinstance(m, GaussianRBM):
        fn = lambda ps: float(np.mean(-ref.gb_free_energy(d, *ps)))  # noqa: E731
        names = ["weight", "visible_bias", "hidden_bias", "log_sigma"]
    else:
        fn = lambda ps: float(np.mean(-ref.bb_free_energy(d, *ps)))  # noqa: E731
        names = ["weight", "visible_bias", "hidden_bias"]
    for name, expected in zip(names, ref.finite_difference_grad(fn, np_params(m))):
        np.testing.assert_allclose(got[name].numpy(), expected, atol=1e-7, err_msg=name)


def test_update_applies_learning_rate_to_gradient():
    m = random_bb(5, 3, 0.5, 0)
    data = torch.from_numpy(ref.states(5)[[3, 9, 17, 28]])
    tr = Trainer(m, data, TrainingConfig(weight_decay=0.0, momentum=0.0, batch_size=4, centering=False))
    before = {k: t.clone() for k, t in m.parameters().items()}
    tr._update(torch.arange(4), 0.3)
    grads = tr._gradient()  # from the rows the update used (checked against finite differences above)
    for k, t in m.parameters().items():
        torch.testing.assert_close(t - before[k], 0.3 * grads[k])


def _digits_like(n=300, V=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(4, V, generator=g) < 0.5).float()
    data = protos[torch.randint(4, (n,), generator=g)]
    return (data + (torch.rand(data.shape, generator=g) < 0.05).float()) % 2


@pytest.mark.parametrize(
    "make,cfg",
    [
        (lambda g, d: BernoulliRBM.init_random(16, 8, generator=g, data=d), dict(method="cd", k=2)),
        (lambda g, d: BernoulliRBM.init_random(16, 8, generator=g, data=d),
         dict(method="pcd", sparsity_target=0.1, sparsity_cost=0.1)),
        (lambda g, d: GaussianRBM.init_random(16, 5, generator=g, data=d),
         dict(method="pcd", learn_sigma=True, learning_rate=0.005, lr_schedule="cosine")),
    ],
    ids=["bb-cd2", "bb-pcd-sparse", "gb-pcd-sigma"],
)
def test_resume_from_state_dict_is_bit_identical(make, cfg):
    data = _digits_like()
    config = TrainingConfig(epochs=4, batch_size=32, validation_fraction=0.2, **cfg)
    full_model = make(torch.Generator().manual_seed(0), data)
    Trainer(full_model, data, config).fit()

    first = make(torch.Generator().manual_seed(0), data)
    tr = Trainer(first, data, config)
    tr.fit(lambda epoch, metrics: epoch < 2)
    assert tr.epoch == 2
    state = {k: v.clone() for k, v in tr.state_dict().items()}

    other = make(torch.Generator().manual_seed(99), data)  # different start: state must overwrite it
    resumed = Trainer(other, data, config)
    resumed.load_state_dict(state)
    assert resumed.epoch == 2
    resumed.fit()
    for name, t in full_model.parameters().items():
        assert torch.equal(t, other.parameters()[name]), name


def test_same_seed_same_weights_and_seed_matters():
    data = _digits_like()

    def run(seed):
        m = BernoulliRBM.init_random(16, 6, generator=torch.Generator().manual_seed(0), data=data)
        Trainer(m, data, TrainingConfig(method="pcd", epochs=2, seed=seed)).fit()
        return m.weight

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def _bars_and_stripes(n=3):
    pats = set()
    for bits in itertools.product([0.0, 1.0], repeat=n):
        b = torch.tensor(bits)
        pats.add(tuple(b[:, None].expand(n, n).reshape(-1).tolist()))
        pats.add(tuple(b[None, :].expand(n, n).reshape(-1).tolist()))
    return torch.tensor(sorted(pats), dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1])
def test_pcd_beats_cd1_on_bars_and_stripes(seed):
    """Same budget (epochs, batch, lr schedule, k=1): PCD reaches a higher exact likelihood.

    CD-1 never sees the spurious modes far from the 14 patterns, so it leaves
    probability mass there; PCD's persistent chains find and remove it.
    """
    data = _bars_and_stripes().repeat(4, 1)  # 56 rows: 4 updates per epoch
    ll = {}
    for method in ("cd", "pcd"):
        m = BernoulliRBM.init_random(9, 16, generator=torch.Generator().manual_seed(seed), data=data, dtype=torch.float64)
        cfg = TrainingConfig(method=method, k=1, epochs=1000, batch_size=14, learning_rate=0.05,
                             lr_schedule="linear", momentum=0.5, seed=seed, monitor_size=1)
        Trainer(m, data, cfg).fit()
        ll[method] = float(log_likelihood(m, data, exact_log_partition(m)).mean())
    assert ll["pcd"] > ll["cd"] + 0.05, ll


def test_metrics_are_correct_and_complete():
    data = _digits_like(n=200, V=10).double()
    m = BernoulliRBM.init_random(10, 6, generator=torch.Generator().manual_seed(0), data=data, dtype=torch.float64)
    val = data[:50]
    tr = Trainer(m, data[50:], TrainingConfig(epochs=1, monitor_size=1000), validation=val)
    metrics = tr.run_epoch()
    for key in ("reconstruction_error", "pseudo_log_likelihood", "free_energy_train", "free_energy_validation",
                "free_energy_gap", "log_likelihood_train", "log_likelihood_validation"):
        assert key in metrics and np.isfinite(metrics[key]), key
    log_z = ref.bb_log_z(*np_params(m))
    train = data[50:].numpy()
    assert metrics["log_likelihood_train"] == pytest.approx(np.mean(-ref.bb_free_energy(train, *np_params(m))) - log_z, abs=1e-8)
    pll_rows = tr._monitor[: tr._pll_rows].numpy()  # the PLL uses a prefix of the monitor set
    expected = ref.bb_pseudo_log_likelihood(pll_rows, *np_params(m)).mean()
    assert metrics["pseudo_log_likelihood"] == pytest.approx(expected, abs=1e-8)
    assert metrics["free_energy_gap"] == pytest.approx(metrics["free_energy_validation"] - metrics["free_energy_train"])
    gm = GaussianRBM.init_random(10, 4, generator=torch.Generator().manual_seed(0), data=data)
    gmetrics = Trainer(gm, data, TrainingConfig(epochs=1)).run_epoch()
    assert "pseudo_log_likelihood" not in gmetrics and "log_likelihood_train" in gmetrics


def test_divergence_is_reported():
    data = _digits_like()
    m = BernoulliRBM.init_random(16, 4, generator=torch.Generator().manual_seed(0), data=data)
    tr = Trainer(m, data, TrainingConfig(epochs=3))
    tr.run_epoch()
    m.weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="diverged at epoch 2.*learning_rate"):
        tr.run_epoch()


def test_learning_rate_schedules_and_config_validation():
    data = _digits_like(n=100)
    m = BernoulliRBM.init_random(16, 4, generator=torch.Generator().manual_seed(0), data=data)
    lin = Trainer(m, data, TrainingConfig(epochs=10, batch_size=10, lr_schedule="linear", learning_rate=0.1))
    assert lin.learning_rate_at(0) == pytest.approx(0.1) and lin.learning_rate_at(50) == pytest.approx(0.05)
    cos = Trainer(m, data, TrainingConfig(epochs=10, batch_size=10, lr_schedule="cosine", learning_rate=0.1))
    assert cos.learning_rate_at(50) == pytest.approx(0.05) and cos.learning_rate_at(100) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        Trainer(m, data, TrainingConfig(method="sgd"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Trainer(m, data, TrainingConfig(learn_sigma=True))


def test_training_improves_likelihood_on_structured_data():
    data = _digits_like(n=400, V=12).double()
    m = BernoulliRBM.init_random(12, 8, generator=torch.Generator().manual_seed(0), data=data, dtype=torch.float64)
    start = float(log_likelihood(m, data, exact_log_partition(m)).mean())
    history = []
    Trainer(m, data, TrainingConfig(epochs=100, learning_rate=0.1)).fit(lambda e, met: history.append(met))
    end = float(log_likelihood(m, data, exact_log_partition(m)).mean())
    assert end > start + 1.0
    assert history[-1]["reconstruction_error"] < history[0]["reconstruction_error"]
