"""DBN math against brute-force numpy references: the variational bound never exceeds the exact
log-likelihood (enumerated over all hidden layers), passes, sampling, greedy training, io."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from app.rbm.dbn import DBN, DBNTrainer, init_dbn, log_likelihood_lower_bound, sample_dbn
from app.rbm.dbn_io import dbn_from_safetensors_bytes, dbn_to_safetensors_bytes, is_dbn_file, load_any
from app.rbm.errors import InvalidInput, InvalidWeights
from app.rbm.io import to_safetensors_bytes
from app.rbm.model import BernoulliRBM
from app.rbm.training import Trainer, TrainingConfig
from tests.rbm.models import np_params, random_bb, random_gb
from tests.rbm.reference import bb_energy, bb_log_z, states


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _np_log_p_v_given_h(v, h, W, a):
    """log p(v | h) of a sigmoid belief layer, every pair: v (n, V), h (m, H) -> (n, m)."""
    x = a[None, :] + h @ W.T  # (m, V)
    return v @ _log_sigmoid(x).T + (1 - v) @ _log_sigmoid(-x).T


def _np_top_log_marginal(h, W, a, b):
    """log p(h) of the top RBM over its visible units, by enumerating its hidden units: (m,)."""
    return logsumexp(-bb_energy(h, states(W.shape[1]), W, a, b), axis=1) - bb_log_z(W, a, b)


def _np_dbn_log_prob(dbn: DBN, v: np.ndarray) -> np.ndarray:
    """Exact log p(v) of a DBN of bernoulli layers by summing the directed chain over every
    hidden state of every layer below the top RBM."""
    params = [np_params(lay) for lay in dbn.layers]
    W, a, b = params[-1]
    h_top = states(W.shape[0])
    log_p = _np_top_log_marginal(h_top, W, a, b)  # (2^H_{L-1},) over the top RBM's visible layer
    for W, a, _b in reversed(params[:-1]):
        below = states(W.shape[0]) if W is not params[0][0] else v
        log_p = logsumexp(_np_log_p_v_given_h(below, h_top, W, a) + log_p[None, :], axis=1)
        h_top = below
    return log_p


def _np_bound_exact(dbn: DBN, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-layer bound with E_q done by enumerating h1, and KL(q || p(h1 | v)) independently."""
    (W1, a1, b1), (W2, a2, b2) = (np_params(lay) for lay in dbn.layers)
    h1 = states(W1.shape[1])
    q1 = 1 / (1 + np.exp(-(b1 + v @ W1)))  # (n, H1)
    log_q = h1 @ np.log(q1).T + (1 - h1) @ np.log(1 - q1).T  # (2^H1, n)
    joint = _np_log_p_v_given_h(v, h1, W1, a1) + _np_top_log_marginal(h1, W2, a2, b2)[None, :]  # (n, 2^H1)
    q = np.exp(log_q.T)
    bound = (q * (joint - log_q.T)).sum(axis=1)
    log_post = joint - logsumexp(joint, axis=1, keepdims=True)
    kl = (q * (log_q.T - log_post)).sum(axis=1)
    return bound, kl


def _tiny_dbn(sizes, scale=1.0, seed=0) -> DBN:
    return DBN([random_bb(v, h, scale, seed + i) for i, (v, h) in enumerate(zip(sizes, sizes[1:]))])


def test_bound_is_below_the_exact_log_likelihood_by_the_kl_of_the_posterior():
    dbn = _tiny_dbn([6, 5, 4], scale=1.5)
    v = states(6)
    exact = _np_dbn_log_prob(dbn, v)
    assert abs(logsumexp(exact)) < 1e-10  # a normalised distribution over {0,1}^6
    bound, kl = _np_bound_exact(dbn, v)
    assert np.all(bound <= exact + 1e-12)
    np.testing.assert_allclose(exact - bound, kl, atol=1e-10)  # the gap is exactly KL(q || posterior)
    assert kl.mean() > 1e-3  # a real gap on these weights: the bound is not an identity
    # the library's Monte-Carlo estimate agrees with the enumerated bound within its error bar
    W2, a2, b2 = np_params(dbn.top)
    g = torch.Generator().manual_seed(0)
    lb = log_likelihood_lower_bound(dbn, torch.from_numpy(v), bb_log_z(W2, a2, b2), n_samples=2000, generator=g)
    z = (lb.bound.numpy() - bound) / lb.bound_std.numpy()
    assert np.all(np.abs(z) < 4.5), z
    assert lb.bound.mean().item() <= exact.mean() + 4 * lb.bound_std.mean().item()
    print(f"tiny 6-5-4 DBN: mean exact log p {exact.mean():.4f}, mean bound {bound.mean():.4f}, "
          f"mean gap {kl.mean():.4f} nats")


def test_three_layer_bound_stays_below_the_exact_log_likelihood():
    dbn = _tiny_dbn([5, 4, 4, 3], scale=1.5, seed=3)
    v = states(5)
    exact = _np_dbn_log_prob(dbn, v)
    assert abs(logsumexp(exact)) < 1e-10
    W3, a3, b3 = np_params(dbn.top)
    lb = log_likelihood_lower_bound(dbn, torch.from_numpy(v), bb_log_z(W3, a3, b3), n_samples=3000,
                                    generator=torch.Generator().manual_seed(1))
    # a stochastic estimate of a bound: below the exact value up to its own error bar
    assert np.all(lb.bound.numpy() <= exact + 4.5 * lb.bound_std.numpy())
    assert (exact - lb.bound.numpy()).mean() > 0


def test_gaussian_first_layer_bound_against_the_exact_mixture_density():
    first = random_gb(3, 4, 0.8, seed=5)
    dbn = DBN([first, random_bb(4, 3, 1.0, seed=6)])
    W1, a1, b1, ls = np_params(first)
    W2, a2, b2 = np_params(dbn.top)
    v = np.random.default_rng(0).normal(size=(7, 3)) + a1
    h1 = states(4)
    means = a1[None, :] + h1 @ W1.T
    s = np.exp(ls)
    log_n = (-0.5 * ((v[:, None, :] - means[None]) / s) ** 2 - ls - 0.5 * np.log(2 * np.pi)).sum(axis=2)
    exact = logsumexp(log_n + _np_top_log_marginal(h1, W2, a2, b2)[None, :], axis=1)
    lb = log_likelihood_lower_bound(dbn, torch.from_numpy(v), bb_log_z(W2, a2, b2), n_samples=3000,
                                    generator=torch.Generator().manual_seed(2))
    assert np.all(lb.bound.numpy() <= exact + 4.5 * lb.bound_std.numpy())


def test_one_layer_bound_is_the_exact_log_likelihood():
    rbm = random_bb(5, 3, 1.0, seed=1)
    W, a, b = np_params(rbm)
    v = states(5)
    lb = log_likelihood_lower_bound(DBN([rbm]), torch.from_numpy(v), bb_log_z(W, a, b), n_samples=3,
                                    generator=torch.Generator().manual_seed(0))
    exact = _np_top_log_marginal(v, W, a, b)
    np.testing.assert_allclose(lb.bound.numpy(), exact, atol=1e-10)


def test_up_down_and_reconstruct_follow_the_layer_conditionals():
    dbn = _tiny_dbn([6, 5, 4], seed=7)
    v = torch.from_numpy(states(6)[:10])
    (W1, a1, b1), (W2, a2, b2) = (np_params(lay) for lay in dbn.layers)
    p1 = 1 / (1 + np.exp(-(b1 + v.numpy() @ W1)))
    p2 = 1 / (1 + np.exp(-(b2 + p1 @ W2)))
    np.testing.assert_allclose(dbn.up(v, 1).numpy(), p1, atol=1e-12)
    np.testing.assert_allclose(dbn.up(v).numpy(), p2, atol=1e-12)
    np.testing.assert_allclose(dbn.up(v, 0).numpy(), v.numpy())
    down1 = 1 / (1 + np.exp(-(a2 + p2 @ W2.T)))
    down0 = 1 / (1 + np.exp(-(a1 + down1 @ W1.T)))
    np.testing.assert_allclose(dbn.reconstruct(v).numpy(), down0, atol=1e-12)
    with pytest.raises(InvalidInput, match="layer must be between 0"):
        dbn.up(v, 3)


def test_samples_follow_the_exact_dbn_distribution():
    dbn = _tiny_dbn([4, 3, 3], scale=1.0, seed=11)
    exact = np.exp(_np_dbn_log_prob(dbn, states(4)))
    g = torch.Generator().manual_seed(3)
    x = sample_dbn(dbn, n_samples=20000, steps=30, n_chains=2000, thin=3, generator=g, mean_visible=False)
    idx = (x.numpy() @ (2 ** np.arange(3, -1, -1))).astype(int)
    emp = np.bincount(idx, minlength=16) / len(idx)
    tv = 0.5 * np.abs(emp - exact).sum()
    assert tv < 0.03, tv


def test_dbn_file_round_trip_and_errors():
    dbn = DBN([random_gb(6, 5, 0.5, seed=1), random_bb(5, 4, 0.5, seed=2)])
    data = dbn_to_safetensors_bytes(dbn, {"job_id": "j1"})
    assert is_dbn_file(data)
    back, meta = dbn_from_safetensors_bytes(data)
    assert meta["kind"] == "dbn" and meta["layers"] == "[6, 5, 4]" and meta["job_id"] == "j1"
    assert back.visible_type == "gaussian" and back.sizes == [6, 5, 4]
    for name, t in dbn.parameters().items():
        assert torch.equal(back.parameters()[name], t), name
    any_model, _ = load_any(data)
    assert isinstance(any_model, DBN)
    rbm = random_bb(3, 2, 1.0, seed=0)
    assert isinstance(load_any(to_safetensors_bytes(rbm))[0], BernoulliRBM)
    from safetensors.torch import load, save
    t = load(data)
    bad = dict(t)
    bad["layers.1.weight"] = torch.zeros(4, 4)
    with pytest.raises(InvalidWeights, match="layer 1"):
        dbn_from_safetensors_bytes(save(bad, metadata={"kind": "dbn"}))
    with pytest.raises(InvalidWeights, match="numbered"):
        dbn_from_safetensors_bytes(save({k.replace("layers.1", "layers.2"): v for k, v in t.items()}))
    with pytest.raises(InvalidWeights, match="unexpected tensor"):
        dbn_from_safetensors_bytes(save({**t, "extra": torch.zeros(1)}))
    # a file without `kind` but with layer names is still read as a DBN
    assert isinstance(load_any(save(t))[0], DBN)


def test_upper_layers_must_be_bernoulli_and_fit_together():
    with pytest.raises(InvalidWeights, match="only the first layer"):
        DBN([random_bb(4, 3, 1.0, 0), random_gb(3, 2, 1.0, 1)])
    with pytest.raises(InvalidWeights, match="layer 2 has 4 visible"):
        DBN([random_bb(4, 3, 1.0, 0), random_bb(4, 2, 1.0, 1)])


def _digits(n=400) -> torch.Tensor:
    from sklearn.datasets import load_digits

    x, _ = load_digits(return_X_y=True)
    return torch.from_numpy((x[:n] >= 8).astype(np.float32))


def test_greedy_training_feeds_each_layer_the_features_below():
    data = _digits()
    g = torch.Generator().manual_seed(0)
    dbn = init_dbn(64, [20, 10], generator=g, data=data)
    cfg = TrainingConfig(epochs=3, batch_size=50, seed=1)
    trainer = DBNTrainer(dbn, data, cfg)
    seen = []
    trainer.fit(lambda k, e, m: seen.append((k, e)))
    assert seen == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    # layer 2 trained exactly as a plain Trainer on layer 1's mean-field features would train it
    ref_first = init_dbn(64, [20, 10], generator=torch.Generator().manual_seed(0), data=data).layers
    Trainer(ref_first[0], data, TrainingConfig(epochs=3, batch_size=50, seed=1)).fit()
    assert torch.equal(ref_first[0].weight, dbn.layers[0].weight)
    x = ref_first[0].hidden_probs(data)
    m = x.double().mean(0).clamp(1e-3, 1 - 1e-3)
    ref_first[1].visible_bias.copy_(torch.log(m / (1 - m)).float())
    Trainer(ref_first[1], x, TrainingConfig(epochs=3, batch_size=50, seed=1)).fit()
    assert torch.equal(ref_first[1].weight, dbn.layers[1].weight)


def test_resume_mid_layer_is_bit_identical():
    data = _digits(300)
    cfgs = [TrainingConfig(epochs=2, batch_size=50, seed=1), TrainingConfig(epochs=3, batch_size=50, seed=2,
                                                                            method="pcd")]

    def fresh():
        return init_dbn(64, [16, 8], generator=torch.Generator().manual_seed(0), data=data)

    full = DBNTrainer(fresh(), data, cfgs)
    full.fit()
    part = DBNTrainer(fresh(), data, cfgs)
    part.fit(lambda k, e, m: not (k == 1 and e == 1))  # stop after layer 2's first epoch
    assert part.layer == 1 and part.epochs_done == 3
    state = {k: v.clone() for k, v in part.state_dict().items()}
    resumed = DBNTrainer(fresh(), data, cfgs)
    resumed.load_state_dict(state)
    assert resumed.epochs_done == 3
    resumed.fit()
    for name, t in full.dbn.parameters().items():
        assert torch.equal(resumed.dbn.parameters()[name], t), name


def test_bernoulli_layers_train_on_probabilities_and_refuse_values_outside():
    from sklearn.datasets import load_digits

    x, _ = load_digits(return_X_y=True)
    probs = torch.from_numpy((x[:300] / 16.0).astype(np.float32))
    rbm = BernoulliRBM.init_random(64, 16, generator=torch.Generator().manual_seed(0), data=probs)
    tr = Trainer(rbm, probs, TrainingConfig(epochs=10, batch_size=10))
    first = tr.run_epoch()
    for _ in range(9):
        last = tr.run_epoch()
    assert "pseudo_log_likelihood" not in last  # binary-only metrics are skipped for [0, 1] data
    assert last["reconstruction_error"] < 0.95 * first["reconstruction_error"], (first, last)  # measured 0.90x
    with pytest.raises(InvalidInput, match=r"spans \[0, 2\]"):
        Trainer(rbm, probs * 2, TrainingConfig(epochs=1))


def test_trained_two_layer_dbn_on_bars_and_stripes_bound_within_a_stated_gap():
    """16-12-8 DBN greedily trained on the 30 patterns of 4x4 bars-and-stripes: the bound (with the
    exact log Z of the top RBM) is below the exact log-likelihood, computed by enumerating all
    2^12 first-layer states, by at most 1.5 nats per pattern on average (measured 0.59; exact -6.49 nats)."""
    from app.data.builtin_bars_stripes import bars_and_stripes_patterns

    x = torch.from_numpy(np.repeat(bars_and_stripes_patterns(4).astype(np.float64), 10, axis=0))
    g = torch.Generator().manual_seed(0)
    dbn = init_dbn(16, [12, 8], generator=g, data=x, dtype=torch.float64)
    cfg = TrainingConfig(epochs=150, batch_size=30, learning_rate=0.1, momentum=0.5, seed=0)
    DBNTrainer(dbn, x, cfg).fit()
    v = bars_and_stripes_patterns(4).astype(np.float64)
    exact = _np_dbn_log_prob(dbn, v)
    bound, kl = _np_bound_exact(dbn, v)
    assert np.all(bound <= exact + 1e-9)
    gap = float((exact - bound).mean())
    W2, a2, b2 = np_params(dbn.top)
    lb = log_likelihood_lower_bound(dbn, torch.from_numpy(v), bb_log_z(W2, a2, b2), n_samples=500,
                                    generator=torch.Generator().manual_seed(1))
    print(f"BAS 4x4 16-12-8: exact mean log p {exact.mean():.3f} (uniform on 30 patterns: {-np.log(30):.3f}), "
          f"bound {bound.mean():.3f} (MC {lb.bound.mean():.3f}), gap {gap:.3f} nats")
    assert gap < 1.5
    assert abs(float(lb.bound.mean()) - bound.mean()) < 4 * float(lb.bound_std.mean())


def test_unset_schedules_are_resolved_from_the_data_size_up_front():
    data = _digits(300)
    trainer = DBNTrainer(init_dbn(64, [8, 4], generator=torch.Generator().manual_seed(0), data=data),
                         data, [TrainingConfig(), TrainingConfig(epochs=3)])
    epochs, batch = TrainingConfig().resolved(300).epochs, TrainingConfig().resolved(300).batch_size
    assert [c.epochs for c in trainer.configs] == [epochs, 3] and trainer.configs[0].batch_size == batch
    assert trainer.total_epochs == epochs + 3 and trainer.epochs_done == 0


def test_dbn_layer_defaults_sparsity_everywhere_cd_below_pt_on_top():
    from app.rbm.dbn import dbn_layer_defaults

    three = [dbn_layer_defaults(i, 3) for i in range(3)]
    assert [d["method"] for d in three] == ["cd", "cd", "pt"]
    assert all(d["sparsity_target"] == 0.1 and d["sparsity_cost"] == 0.1 for d in three)
    assert dbn_layer_defaults(0, 1)["method"] == "pt"  # a one-layer DBN is its top RBM
    assert dbn_layer_defaults(0, 2, "gaussian") == {} and dbn_layer_defaults(1, 2, "gaussian")["method"] == "pt"
    for c in three:
        TrainingConfig(**c).validate()
    assert "batch_size" not in three[0]  # only when the rows are known: a hundredth of them, 10 to 100
    assert [dbn_layer_defaults(0, 2, n_rows=n)["batch_size"] for n in (50, 1437, 9000, 60000)] == [10, 14, 90, 100]
    with pytest.raises(ValueError):
        dbn_layer_defaults(2, 2)
