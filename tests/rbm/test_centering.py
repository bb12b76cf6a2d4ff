"""Centred training (Melchior et al. 2016) checked against brute-force enumeration in numpy.

The centred energy (bernoulli) is
``E_c(v, h) = -(v - mu).W.(h - lam) - b_c.(v - mu) - c_c.(h - lam)``; its standard form is
``a = b_c - W lam``, ``b = c_c - W^T mu``. Everything here is recomputed from that formula.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from app.rbm.likelihood import all_binary_states
from app.rbm.model import BernoulliRBM, GaussianRBM
from app.rbm.training import Trainer, TrainingConfig
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb


def _centred_free_energy(v: np.ndarray, W, bc, cc, mu, lam) -> np.ndarray:
    """``-log sum_h exp(-E_c(v, h))`` by enumerating every h: ``v (n, V) -> (n,)``."""
    hs = ref.states(W.shape[1])  # (2^H, H)
    x = v - mu
    e = -(x @ W) @ (hs - lam).T - (x @ bc)[:, None] - ((hs - lam) @ cc)[None, :]  # (n, 2^H)
    return -np.logaddexp.reduce(-e, axis=1)


def _centred_mean_ll(params, data: np.ndarray, mu, lam) -> float:
    """Mean log-likelihood of ``data`` under the centred parameters ``(W, b_c, c_c)``."""
    W, bc, cc = params
    f_data = _centred_free_energy(data, W, bc, cc, mu, lam)
    f_all = _centred_free_energy(ref.states(W.shape[0]), W, bc, cc, mu, lam)
    return float(-f_data.mean() - np.logaddexp.reduce(-f_all))


def _setup(seed: int = 0):
    m = random_bb(5, 4, 0.8, seed)
    data = torch.from_numpy(ref.states(5)[[1, 4, 7, 19, 30, 30, 12]])
    tr = Trainer(m, data, TrainingConfig(weight_decay=0.0, momentum=0.0, centering=True))
    # an arbitrary hidden offset, so the lam terms are exercised (the default start is 0.5)
    tr.hidden_offset.copy_(torch.tensor([0.2, 0.7, 0.5, 0.9], dtype=torch.float64))
    return m, data, tr


def _exact_statistics(tr: Trainer, data: torch.Tensor) -> None:
    """Load the trainer's statistics rows with data and exact model statistics (its own code)."""
    m = tr.model
    states = all_binary_states(m.n_visible, dtype=torch.float64)
    W, a, b = np_params(m)
    p = torch.from_numpy(np.exp(ref.bb_log_prob(W, a, b)))
    tr._load_positive(data, m.hidden_probs(data), data, states.shape[0])
    tr._load_negative(states, m.hidden_probs(states), states, p)


def test_offsets_start_at_data_mean_and_one_half():
    m = random_bb(5, 4, 0.8, 0)
    data = torch.from_numpy(ref.states(5)[[1, 4, 7, 19, 30]])
    tr = Trainer(m, data, TrainingConfig(centering=True))
    np.testing.assert_allclose(tr.visible_offset.numpy(), data.numpy().mean(axis=0))
    np.testing.assert_allclose(tr.hidden_offset.numpy(), 0.5)
    assert Trainer(m, data, TrainingConfig(centering=False)).hidden_offset is None


def test_centred_gradient_is_exact_gradient_in_centred_parameters():
    m, data, tr = _setup()
    mu, lam = tr.visible_offset.numpy().copy(), tr.hidden_offset.numpy().copy()
    W, a, b = np_params(m)
    centred = [W.copy(), a + W @ lam, b + W.T @ mu]
    _exact_statistics(tr, data)
    grads = tr._gradient()
    fd = ref.finite_difference_grad(lambda p: _centred_mean_ll(p, data.numpy(), mu, lam), centred)
    for name, expected in zip(["weight", "visible_bias", "hidden_bias"], fd):
        np.testing.assert_allclose(grads[name].numpy(), expected, atol=1e-6, err_msg=name)


def test_centred_step_lands_on_converted_centred_ascent_and_ascends():
    m, data, tr = _setup(1)
    mu, lam = tr.visible_offset.numpy().copy(), tr.hidden_offset.numpy().copy()
    W, a, b = (p.copy() for p in np_params(m))  # np_params shares memory with the model
    d = data.numpy()
    centred = [W.copy(), a + W @ lam, b + W.T @ mu]
    fd = ref.finite_difference_grad(lambda p: _centred_mean_ll(p, d, mu, lam), centred)
    lr = 0.05
    stepped = [c + lr * g for c, g in zip(centred, fd)]
    # convert the centred step back by hand: a = b_c - W lam, b = c_c - W^T mu
    expected = [stepped[0], stepped[1] - stepped[0] @ lam, stepped[2] - stepped[0].T @ mu]

    _exact_statistics(tr, data)
    tr._step(lr, None, None)
    for name, want in zip(["weight", "visible_bias", "hidden_bias"], expected):
        np.testing.assert_allclose(getattr(m, name).numpy(), want, atol=1e-7, err_msg=name)

    def mean_ll(W_, a_, b_):
        return float(np.mean(-ref.bb_free_energy(d, W_, a_, b_)) - ref.bb_log_z(W_, a_, b_))

    assert mean_ll(*np_params(m)) > mean_ll(W, a, b)  # a preconditioned ascent step


def test_conversion_to_standard_form_preserves_free_energy_up_to_constant():
    rng = np.random.default_rng(3)
    V, H = 5, 3
    W, bc, cc = rng.normal(size=(V, H)), rng.normal(size=V), rng.normal(size=H)
    mu, lam = rng.uniform(0.1, 0.9, size=V), rng.uniform(0.1, 0.9, size=H)
    v = ref.states(V)
    f_c = _centred_free_energy(v, W, bc, cc, mu, lam)
    model = BernoulliRBM(torch.from_numpy(W), torch.from_numpy(bc - W @ lam), torch.from_numpy(cc - W.T @ mu))
    f_s = model.free_energy(torch.from_numpy(v)).numpy()
    diff = f_s - f_c
    np.testing.assert_allclose(diff, diff[0], atol=1e-10)


def test_hidden_offset_tracks_the_hidden_mean_of_the_data():
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(200, 6, generator=g) < torch.linspace(0.1, 0.9, 6)).double()
    m = BernoulliRBM.init_random(6, 3, generator=g, data=data, dtype=torch.float64)
    tr = Trainer(m, data, TrainingConfig(method="pcd", epochs=3, batch_size=20, centering=True))
    tr.fit()
    lam = tr.hidden_offset.numpy()
    assert not np.allclose(lam, 0.5)  # the offset moved
    np.testing.assert_allclose(lam, m.hidden_probs(data).mean(0).numpy(), atol=0.15)


@pytest.mark.parametrize(
    "make,cfg",
    [
        (lambda g, d: BernoulliRBM.init_random(16, 8, generator=g, data=d), dict(method="cd", k=2)),
        (lambda g, d: BernoulliRBM.init_random(16, 8, generator=g, data=d),
         dict(method="pcd", sparsity_target=0.1, sparsity_cost=0.1)),
        (lambda g, d: GaussianRBM.init_random(16, 5, generator=g, data=d),
         dict(method="pcd", learn_sigma=True, learning_rate=0.005)),
    ],
    ids=["bb-cd2", "bb-pcd-sparse", "gb-pcd-sigma"],
)
def test_centred_resume_from_state_dict_is_bit_identical(make, cfg):
    g = torch.Generator().manual_seed(0)
    protos = (torch.rand(4, 16, generator=g) < 0.5).float()
    data = protos[torch.randint(4, (300,), generator=g)]
    data = (data + (torch.rand(data.shape, generator=g) < 0.05).float()) % 2
    config = TrainingConfig(epochs=4, batch_size=32, centering=True, **cfg)
    full_model = make(torch.Generator().manual_seed(0), data)
    Trainer(full_model, data, config).fit()

    first = make(torch.Generator().manual_seed(0), data)
    tr = Trainer(first, data, config)
    tr.fit(lambda epoch, metrics: epoch < 2)
    state = {k: v.clone() for k, v in tr.state_dict().items()}
    assert "centering.hidden_offset" in state and not torch.allclose(state["centering.hidden_offset"], torch.tensor(0.5))

    other = make(torch.Generator().manual_seed(99), data)
    resumed = Trainer(other, data, config)
    resumed.load_state_dict(state)
    resumed.fit()
    for name, t in full_model.parameters().items():
        assert torch.equal(t, other.parameters()[name]), name


@pytest.mark.parametrize("centering", [True, False])
def test_fused_step_matches_plain_formulas_with_decay_momentum_and_sparsity(centering):
    """The step's one-GEMM form against the update written out term by term in numpy:
    standard statistics G from the rows, g_W = G_W - decay W + u_mean push^T, g_b = G_b + push,
    centred g_W -= mu g_b^T + g_a lam^T, vel = momentum vel + lr g, then the standard-form step."""
    rng = np.random.default_rng(5)
    m = random_bb(6, 4, 0.7, 2)
    data = torch.from_numpy(rng.integers(0, 2, size=(5, 6)).astype(float))
    chains = torch.from_numpy(rng.integers(0, 2, size=(3, 6)).astype(float))  # fewer chains than rows
    cfg = TrainingConfig(weight_decay=0.01, momentum=0.7, sparsity_target=0.2, sparsity_cost=0.3, centering=centering)
    tr = Trainer(m, data, cfg)
    if centering:
        tr.hidden_offset.copy_(torch.tensor([0.2, 0.7, 0.5, 0.9], dtype=torch.float64))
    for t in tr.velocity.values():  # a non-zero previous velocity, so momentum is exercised
        t.copy_(torch.from_numpy(rng.normal(scale=0.01, size=t.shape)))
    W, a, b = (p.copy() for p in np_params(m))
    vel = {k: t.numpy().copy() for k, t in tr.velocity.items()}
    mu = tr.visible_offset.numpy().copy() if centering else np.zeros(6)
    lam = tr.hidden_offset.numpy().copy() if centering else np.zeros(4)
    d, c = data.numpy(), chains.numpy()
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ph_d, ph_c = sig(d @ W + b), sig(c @ W + b)
    lr, decay, mom = 0.05, 0.01, 0.7
    q, u_mean = ph_d.mean(0), d.mean(0)
    push = 0.3 * (0.2 - q)
    g_w = d.T @ ph_d / 5 - c.T @ ph_c / 3 - decay * W + np.outer(u_mean, push)
    g_a, g_b = d.mean(0) - c.mean(0), ph_d.mean(0) - ph_c.mean(0) + push
    g_w = g_w - np.outer(mu, g_b) - np.outer(g_a, lam)
    v_w, v_a, v_b = (mom * vel[k] + lr * g for k, g in [("weight", g_w), ("visible_bias", g_a), ("hidden_bias", g_b)])
    want = [W + v_w, a + v_a - v_w @ lam, b + v_b - v_w.T @ mu]

    tr._load_positive(data, m.hidden_probs(data), data, 3)
    tr._load_negative(chains, m.hidden_probs(chains), chains)
    tr._step(lr, torch.from_numpy(q.copy()), torch.from_numpy(u_mean.copy()))
    for name, expected in zip(["weight", "visible_bias", "hidden_bias"], want):
        np.testing.assert_allclose(getattr(m, name).numpy(), expected, atol=1e-12, err_msg=name)
