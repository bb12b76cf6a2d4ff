"""Whitened Gaussian RBMs (``standardize="whiten"``): a rotation to the data's principal axes, then
the per-component standardisation. In raw units the model has a full visible covariance; every
number here is checked against a direct numpy computation in the raw units (a full-covariance
Gaussian per hidden configuration, the whitening's Jacobian included).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from app.rbm.errors import InvalidWeights
from app.rbm.io import from_safetensors_bytes, read_tempering_base, to_safetensors_bytes
from app.rbm.model import WHITEN_SIGMA_START, GaussianRBM, feature_scale, principal_axes
from app.rbm.partition import (ais_base, ais_forward, ais_log_partition, ais_reverse, default_betas,
                                exact_log_partition)
from app.rbm.sampling import draw_samples, gibbs, metropolis
from app.rbm.tempering import base_from_data
from app.rbm.training import Trainer, TrainingConfig


def _correlated_data(n: int = 400, v: int = 5, seed: int = 0, constant: bool = False) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(v, v)) * rng.uniform(0.1, 5, v)
    x = rng.normal(size=(n, v)) @ mix.T + rng.uniform(-20, 20, v)
    if constant:
        x[:, 1] = 3.0  # one exactly constant column
    return torch.from_numpy(x)


def _whitened_model(v: int, h: int, seed: int, constant: bool = False) -> tuple[GaussianRBM, torch.Tensor]:
    """A whitened model with random standard-unit parameters (float64), and its data."""
    data = _correlated_data(v=v, seed=seed, constant=constant)
    model = GaussianRBM.init_random(v, h, generator=torch.Generator().manual_seed(seed), data=data,
                                    dtype=torch.float64, standardize="whiten")
    z = model.in_standard_units()
    g = torch.Generator().manual_seed(seed + 100)
    z.weight.copy_(torch.randn(v, h, generator=g, dtype=torch.float64) * 0.8)
    z.visible_bias.copy_(torch.randn(v, generator=g, dtype=torch.float64) * 0.5)
    z.hidden_bias.copy_(torch.randn(h, generator=g, dtype=torch.float64) * 0.5)
    z.log_sigma.copy_(torch.randn(v, generator=g, dtype=torch.float64) * 0.3)
    model.load_standard_units(z)
    return model, data


def _numpy_raw(model: GaussianRBM) -> dict[str, np.ndarray]:
    """The raw-unit full-covariance form, from the standard-unit parameters and the whitening:
    z = L (x - mu) with L = diag(1/c) R^T, mu = R m; x | h ~ N(mu + L^-1 (a + W h), L^-1 S L^-T)."""
    z = model.in_standard_units()
    R = model.visible_rotation.numpy()
    m, c = model.visible_offset.numpy(), model.visible_scale.numpy()
    L = (R / c).T
    return {"L": L, "mu": R @ m, "W": z.weight.numpy(), "a": z.visible_bias.numpy(), "b": z.hidden_bias.numpy(),
            "s2": np.exp(2 * z.log_sigma.numpy())}


def _np_free_energy(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    z = (x - p["mu"]) @ p["L"].T
    pre = p["b"] + (z / p["s2"]) @ p["W"]
    return 0.5 * (((z - p["a"]) ** 2) / p["s2"]).sum(1) - np.logaddexp(0, pre).sum(1)


def _np_log_z(p: dict[str, np.ndarray]) -> float:
    """Sum over h of the raw-unit integral: exp(-E) is, per h, an unnormalised full-covariance
    Gaussian in x with covariance L^-1 diag(s^2) L^-T (the log|det L| Jacobian enters here)."""
    n_h = p["W"].shape[1]
    cov_z = np.diag(p["s2"])
    Linv = np.linalg.inv(p["L"])
    cov_x = Linv @ cov_z @ Linv.T
    log_norm = 0.5 * np.linalg.slogdet(2 * np.pi * cov_x)[1]
    terms = []
    for bits in itertools.product((0.0, 1.0), repeat=n_h):
        h = np.array(bits)
        mean_z = p["a"] + p["W"] @ h
        # E(x, h) = |z - mean_z|^2_S / 2 + const(h); const(h) = -b.h + (|a|^2_S - |mean_z|^2_S) / 2
        const = -(p["b"] @ h) + 0.5 * ((p["a"] ** 2 - mean_z ** 2) / p["s2"]).sum()
        terms.append(-const + log_norm)
    return float(np.logaddexp.reduce(terms))


def test_principal_axes_is_orthogonal_and_diagonalises_the_covariance():
    data = _correlated_data(v=6, seed=1)
    R = principal_axes(data, 6)
    np.testing.assert_allclose((R.T @ R).numpy(), np.eye(6), atol=1e-12)
    cov = np.cov((data @ R).numpy().T)
    off = cov - np.diag(np.diag(cov))
    assert np.abs(off).max() < 1e-8 * np.abs(cov).max()
    assert np.all(np.diff(np.diag(cov)) <= 0)  # by decreasing variance
    torch.testing.assert_close(principal_axes(data, 6), R)  # deterministic signs


def test_free_energy_and_exact_log_z_in_raw_units_match_numpy():
    model, data = _whitened_model(5, 4, seed=0)
    assert model.whitened and model.standardized
    p = _numpy_raw(model)
    x = data[:50].numpy() + np.random.default_rng(1).normal(0, 1, (50, 5))
    np.testing.assert_allclose(model.free_energy(torch.from_numpy(x)).numpy(), _np_free_energy(x, p),
                               rtol=1e-10, atol=1e-8)
    log_z = exact_log_partition(model)
    assert log_z == pytest.approx(_np_log_z(p), abs=1e-8)
    # log p integrates to one in raw units: a Monte Carlo check with the model's own samples is
    # noisy, so check the identity log p = log N(x; full cov) for W = 0 below instead


def test_with_zero_weights_it_is_the_full_covariance_gaussian():
    data = _correlated_data(v=6, seed=2)
    model = GaussianRBM.init_random(6, 3, generator=torch.Generator().manual_seed(0), data=data,
                                    dtype=torch.float64, standardize="whiten", sigma=1.0)
    z = model.in_standard_units()
    z.weight.zero_()
    z.log_sigma.zero_()  # sigma = 1 in whitened units: the data's own covariance
    model.load_standard_units(z)
    x = data.numpy()
    mu, cov = x.mean(0), np.cov(x.T)
    diff = x - mu
    log_n = -0.5 * (np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
                    + np.linalg.slogdet(2 * np.pi * cov)[1])
    log_p = (-model.free_energy(data) - exact_log_partition(model)).numpy()
    np.testing.assert_allclose(log_p, log_n, atol=1e-8)


def test_conditionals_and_samples_are_in_raw_units_with_the_full_covariance():
    model, _ = _whitened_model(4, 3, seed=4)
    p = _numpy_raw(model)
    h = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    Linv = np.linalg.inv(p["L"])
    mean = p["mu"] + Linv @ (p["a"] + p["W"] @ h[0].numpy())
    cov = Linv @ np.diag(p["s2"]) @ Linv.T
    np.testing.assert_allclose(model.visible_mean(h)[0].numpy(), mean, rtol=1e-10)
    draws = model.sample_visible(h.expand(40000, 3), torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(draws.mean(0), mean, atol=5 * np.sqrt(np.diag(cov)).max() / 200)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05 * np.abs(cov).max())
    # p(h | x) in raw units
    x = torch.from_numpy(mean[None, :] + 1.0)
    z = (x.numpy() - p["mu"]) @ p["L"].T
    expected = 1 / (1 + np.exp(-(p["b"] + (z / p["s2"]) @ p["W"])))
    np.testing.assert_allclose(model.hidden_probs(x).numpy(), expected, rtol=1e-10)


def test_samplers_and_ais_run_in_the_basis_and_answer_in_raw_units():
    model, data = _whitened_model(5, 3, seed=5)
    g = torch.Generator().manual_seed(0)
    exact = exact_log_partition(model)
    est = ais_log_partition(model, n_runs=64, n_betas=2000, generator=g, data=data)
    assert est.log_z == pytest.approx(exact, abs=4 * est.log_z_std + 0.05)
    # as the estimation endpoint calls it: a base mean in the data's units, reverse runs from
    # the model's own samples (in the data's units too)
    path = ais_base(model, base_visible_bias=data.mean(dim=0))
    schedule = default_betas(2000).tolist()
    fwd = ais_forward(path, n_runs=64, schedule=schedule, generator=g)
    assert fwd.log_z == pytest.approx(exact, abs=4 * fwd.log_z_std + 0.05)
    starts = draw_samples(model, n_samples=64, steps=300, init=data[:64], generator=g).samples
    rev = ais_reverse(path, n_runs=64, schedule=schedule, generator=g, data=starts)
    assert rev.log_z == pytest.approx(exact, abs=4 * rev.log_z_std + 0.1)
    # the samplers' draws follow the model: their mean matches the data-fitted model's own
    # visible means (a long Gibbs run from the data; the model is random, so compare with
    # the exact expectation E[x] = sum_h p(h) E[x | h] from enumerating h)
    p = _numpy_raw(model)
    Linv = np.linalg.inv(p["L"])
    logw, means = [], []
    for bits in itertools.product((0.0, 1.0), repeat=3):
        h = np.array(bits)
        mz = p["a"] + p["W"] @ h
        logw.append(p["b"] @ h + 0.5 * ((mz ** 2 - p["a"] ** 2) / p["s2"]).sum())
        means.append(p["mu"] + Linv @ mz)
    w = np.exp(np.array(logw) - np.logaddexp.reduce(logw))
    expected = (w[:, None] * np.array(means)).sum(0)
    spread = np.sqrt(np.diag(np.cov(data.numpy().T))).max()
    for sampler in ("gibbs", "pt"):
        base = base_from_data(model, data) if sampler == "pt" else None
        out = draw_samples(model, n_samples=2000, steps=300, init=data[:2000], sampler=sampler,
                           generator=torch.Generator().manual_seed(1), base=base)
        np.testing.assert_allclose(out.samples.mean(0).numpy(), expected, atol=0.15 * spread)
    v = gibbs(model, data[:1000], 300, generator=torch.Generator().manual_seed(2))
    np.testing.assert_allclose(v.mean(0).numpy(), expected, atol=0.15 * spread)
    v, rate = metropolis(model, data[:300], 200, generator=torch.Generator().manual_seed(3))
    assert 0 < rate < 1
    np.testing.assert_allclose(v.mean(0).numpy(), expected, atol=0.3 * spread)


def test_constant_features_are_finite_and_bounded():
    model, data = _whitened_model(5, 3, seed=6, constant=True)
    scale, near_constant = feature_scale(model.to_basis(data), 5)
    assert int(near_constant.sum()) == 1  # the constant column's direction, floored
    p = _numpy_raw(model)
    log_z = exact_log_partition(model)
    assert np.isfinite(log_z) and log_z == pytest.approx(_np_log_z(p), abs=1e-8)
    # and training on it neither diverges nor lets that direction's sigma collapse
    g = torch.Generator().manual_seed(0)
    fresh = GaussianRBM.init_random(5, 3, generator=g, data=data.float(), standardize="whiten")
    trained = Trainer(fresh, data.float(), TrainingConfig(epochs=20, seed=0)).fit()
    assert all(bool(torch.isfinite(t).all()) for t in trained.parameters().values())
    sigma_std = trained.in_standard_units().sigma.double()
    np.testing.assert_allclose(sigma_std[near_constant].numpy(), 1.0, rtol=1e-5)  # held at its floored scale
    log_p = -trained.free_energy(data.float()) - exact_log_partition(trained)
    assert bool(torch.isfinite(log_p).all())


def test_export_round_trip_and_refusals():
    model, data = _whitened_model(5, 3, seed=7)
    blob = to_safetensors_bytes(model, base_mean=torch.zeros(5, dtype=torch.float64))
    again, _ = from_safetensors_bytes(blob)
    assert again.whitened
    torch.testing.assert_close(again.free_energy(data), model.free_energy(data))
    assert exact_log_partition(again) == pytest.approx(exact_log_partition(model), abs=1e-10)
    assert read_tempering_base(blob) is not None
    tensors = dict(model.tensors())
    bad = dict(tensors, visible_rotation=tensors["visible_rotation"] * 1.1)
    with pytest.raises(InvalidWeights, match="orthogonal"):
        from_safetensors_bytes(st_save(bad, metadata={"visible_type": "gaussian"}))
    no_scale = {k: t for k, t in tensors.items() if k not in ("visible_offset", "visible_scale")}
    with pytest.raises(InvalidWeights, match="missing"):
        from_safetensors_bytes(st_save(no_scale, metadata={"visible_type": "gaussian"}))
    # float32 copies and clones keep the rotation
    assert model.to(dtype=torch.float32).whitened and model.clone().whitened


def test_diagonal_and_old_files_are_unchanged():
    data = _correlated_data(v=4, seed=8)
    diag = GaussianRBM.init_random(4, 2, generator=torch.Generator().manual_seed(0), data=data)
    assert diag.standardized and not diag.whitened
    assert diag.in_basis() is diag and diag.to_basis(data) is data
    blob = st_save({k: t.contiguous() for k, t in diag.tensors().items()}, metadata={"visible_type": "gaussian"})
    again, _ = from_safetensors_bytes(blob)
    assert not again.whitened
    torch.testing.assert_close(again.free_energy(data.float()), diag.free_energy(data.float()))


def test_whitened_training_starts_below_unit_sigma_and_leaves_the_gaussian():
    data = _correlated_data(n=600, v=6, seed=9)
    model = GaussianRBM.init_random(6, 3, generator=torch.Generator().manual_seed(0), data=data.float(),
                                    standardize="whiten")
    np.testing.assert_allclose(model.in_standard_units().sigma.numpy(), WHITEN_SIGMA_START, rtol=1e-5)
    with pytest.raises(ValueError, match="whiten"):
        GaussianRBM.init_random(6, 3, generator=torch.Generator(), data=data, standardize="pca")


def test_top_floor_marks_small_principal_components_near_constant(monkeypatch):
    """WHITEN_TOP_FLOOR: a component whose spread is below that fraction of the top component's is
    floored there and held (not whitened to unit scale); 0 leaves the median rule alone."""
    import app.rbm.model as rbm_model

    rng = np.random.default_rng(3)
    spreads = np.array([10.0, 5.0, 2.0, 0.4, 0.3])  # the last two below 0.05 x 10, above 0.1 x median (0.2)
    data = torch.from_numpy(rng.normal(size=(2000, 5)) * spreads)
    y = data @ principal_axes(data, 5)
    scale0, near0 = feature_scale(y, 5)
    assert not bool(near0.any())
    scale, near = feature_scale(y, 5, top_floor=0.05)
    top = float(scale0.max())
    assert near.tolist() == [False, False, False, True, True]
    np.testing.assert_allclose(scale[near].numpy(), 0.05 * top)
    np.testing.assert_allclose(scale[~near].numpy(), scale0[~near].numpy())
    monkeypatch.setattr(rbm_model, "WHITEN_TOP_FLOOR", 0.05)
    model = GaussianRBM.init_random(5, 3, generator=torch.Generator().manual_seed(0), data=data,
                                    dtype=torch.float64, standardize="whiten")
    np.testing.assert_allclose(model.visible_scale.numpy(), scale.numpy())
    low, high = model.log_sigma_bounds(data)
    assert torch.equal(low[near], high[near]) and bool((low[~near] < high[~near]).all())
    # the density stays exact with floored components (numpy full covariance, Jacobian included)
    p = _numpy_raw(model)
    assert exact_log_partition(model) == pytest.approx(_np_log_z(p), abs=1e-8)
