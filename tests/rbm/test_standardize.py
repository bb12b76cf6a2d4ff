"""Standardised Gaussian RBMs: queries in the user's units, densities with the Jacobian, constant
features handled by the documented floor, variance learning that neither collapses nor diverges.

Every number is checked against an independent numpy computation in the *raw* units: the
standard-unit energy written out by hand and integrated (or its hidden states enumerated).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from app.rbm.errors import TrainingDiverged
from app.rbm.io import from_safetensors_bytes, to_safetensors_bytes
from app.rbm.model import SCALE_FLOOR, SIGMA_CEILING, SIGMA_FLOOR, GaussianRBM, feature_scale
from app.rbm.partition import exact_log_partition
from app.rbm.training import Trainer, TrainingConfig


def _standardised_model(n_visible: int, n_hidden: int, seed: int) -> tuple[GaussianRBM, dict[str, np.ndarray]]:
    """A standardised model with random standard-unit parameters, and those parameters in numpy."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = torch.from_numpy(rng.normal(loc=rng.uniform(-50, 50, n_visible), scale=rng.uniform(0.01, 30, n_visible),
                                       size=(200, n_visible)))
    model = GaussianRBM.init_random(n_visible, n_hidden, generator=g, data=data, dtype=torch.float64)
    z = model.in_standard_units()
    p = {"W": rng.normal(0, 0.8, (n_visible, n_hidden)), "a": rng.normal(0, 0.5, n_visible),
         "b": rng.normal(0, 0.5, n_hidden), "log_s": rng.normal(0, 0.3, n_visible)}
    for name, key in (("weight", "W"), ("visible_bias", "a"), ("hidden_bias", "b"), ("log_sigma", "log_s")):
        getattr(z, name).copy_(torch.from_numpy(p[key]))
    model.load_standard_units(z)
    p["m"], p["c"] = model.visible_offset.numpy(), model.visible_scale.numpy()
    return model, p


def _np_free_energy_raw(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """F(x) = F_std((x - m) / c), written out in numpy: (n, V) -> (n,)."""
    z = (x - p["m"]) / p["c"]
    inv_var = np.exp(-2 * p["log_s"])
    pre = p["b"] + (z * inv_var) @ p["W"]
    return 0.5 * (((z - p["a"]) ** 2) * inv_var).sum(1) - np.logaddexp(0, pre).sum(1)


def test_free_energy_is_the_standard_unit_energy_of_the_raw_input():
    model, p = _standardised_model(5, 3, seed=0)
    x = np.random.default_rng(1).normal(p["m"], 3 * p["c"], size=(50, 5))
    got = model.free_energy(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _np_free_energy_raw(x, p), rtol=1e-10, atol=1e-8)


def test_log_z_in_raw_units_by_numeric_integration_includes_the_jacobian():
    # 2 visible units: integrate exp(-F(x)) over a raw-unit grid (trapezoid), no formula shared
    model, p = _standardised_model(2, 3, seed=2)
    lo, hi = p["m"] - 12 * p["c"] * np.exp(p["log_s"]).max() - 12 * p["c"], p["m"] + 12 * p["c"] * 4
    g0, g1 = (np.linspace(lo[i], hi[i], 1201) for i in range(2))
    xx = np.stack(np.meshgrid(g0, g1, indexing="ij"), axis=-1).reshape(-1, 2)
    neg_f = -_np_free_energy_raw(xx, p).reshape(len(g0), len(g1))
    top = neg_f.max()
    integral = np.trapezoid(np.trapezoid(np.exp(neg_f - top), g1, axis=1), g0)
    log_z_numeric = top + math.log(integral)
    log_z = exact_log_partition(model)
    assert log_z == pytest.approx(log_z_numeric, abs=1e-6)
    # and the Jacobian is exactly sum_i log c_i on top of the standard-unit log Z
    assert log_z - exact_log_partition(model.in_standard_units()) == pytest.approx(float(np.log(p["c"]).sum()), abs=1e-9)


def test_log_z_in_raw_units_by_enumerating_hidden_states():
    # 6 visible units: for each h, the raw-unit visible integral is a Gaussian in x with mean
    # m + c (a + W h) and std c s; sum over all 2^H h in numpy
    model, p = _standardised_model(6, 4, seed=3)
    terms = []
    for bits in itertools.product((0.0, 1.0), repeat=4):
        h = np.array(bits)
        mean_z = p["a"] + p["W"] @ h  # the std-unit energy is |z - mean_z|^2/(2s^2) + const(h)
        s2 = np.exp(2 * p["log_s"])
        const = -(p["b"] @ h) + 0.5 * ((p["a"] ** 2 - mean_z ** 2) / s2).sum()
        log_gauss = 0.5 * np.log(2 * np.pi * s2 * p["c"] ** 2).sum()  # integral over raw x, dx = c dz
        terms.append(-const + log_gauss)
    log_z_numpy = float(np.logaddexp.reduce(terms))
    assert exact_log_partition(model) == pytest.approx(log_z_numpy, abs=1e-9)


def test_conditionals_samples_and_reconstructions_are_in_user_units():
    model, p = _standardised_model(4, 3, seed=4)
    h = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    expected = p["m"] + p["c"] * (p["a"] + p["W"] @ h[0].numpy())
    np.testing.assert_allclose(model.visible_mean(h)[0].numpy(), expected, rtol=1e-10)
    g = torch.Generator().manual_seed(0)
    draws = model.sample_visible(h.expand(20000, 3), g).numpy()
    np.testing.assert_allclose(draws.mean(0), expected, atol=5 * (p["c"] * np.exp(p["log_s"])).max() / np.sqrt(20000))
    np.testing.assert_allclose(draws.std(0), p["c"] * np.exp(p["log_s"]), rtol=0.05)


def test_standard_units_round_trip_and_file_round_trip():
    model, _ = _standardised_model(5, 3, seed=5)
    v = torch.randn(7, 5, dtype=torch.float64) * 10
    np.testing.assert_allclose(model.from_standard_units(model.to_standard_units(v)).numpy(), v.numpy(), rtol=1e-12)
    again, _meta = from_safetensors_bytes(to_safetensors_bytes(model))
    assert again.standardized
    torch.testing.assert_close(again.free_energy(v), model.free_energy(v))
    twin = model.in_standard_units()
    copy = model.clone()
    copy.load_standard_units(twin)
    torch.testing.assert_close(copy.weight, model.weight)
    torch.testing.assert_close(copy.hidden_bias, model.hidden_bias)


def test_old_weight_files_without_standardisation_still_load():
    g = torch.Generator().manual_seed(0)
    w, a, b, ls = torch.randn(4, 2, generator=g), torch.randn(4, generator=g), torch.randn(2, generator=g), \
        torch.randn(4, generator=g) * 0.2
    blob = st_save({"weight": w, "visible_bias": a, "hidden_bias": b, "visible_log_sigma": ls},
                   metadata={"visible_type": "gaussian"})
    model, _ = from_safetensors_bytes(blob)
    assert not model.standardized
    v = torch.randn(3, 4, generator=g)
    inv_var = torch.exp(-2 * ls)
    expected = 0.5 * (((v - a) ** 2) * inv_var).sum(1) - torch.nn.functional.softplus(b + (v * inv_var) @ w).sum(1)
    torch.testing.assert_close(model.free_energy(v), expected)


def test_feature_scale_floor_is_relative_to_the_data():
    data = torch.tensor([[0.0, 7.0, 1.0, 100.0, 0.0], [0.0, 7.0, 3.0, 300.0, 0.1], [0.0, 7.0, 5.0, 200.0, 0.2]],
                        dtype=torch.float64)
    scale, near_constant = feature_scale(data, 5)
    floor = SCALE_FLOOR * float(data.std(dim=0).median())  # median std 0.1: the unit in larger units does not count
    assert near_constant.tolist() == [True, True, False, False, False]
    np.testing.assert_allclose(scale.numpy(), [floor, floor, 2.0, 100.0, 0.1])
    # scaling the data scales the floor: nothing absolute in it
    scale_k, _ = feature_scale(data * 1000, 5)
    np.testing.assert_allclose(scale_k.numpy(), 1000 * scale.numpy())


def _data_with_constant_columns(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, list[int]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (3, 6))
    x = centres[rng.integers(0, 3, n)] + 0.3 * rng.normal(size=(n, 6))
    x = np.concatenate([x, np.zeros((n, 1)), np.full((n, 1), 7.0)], axis=1)  # two exactly constant columns
    return torch.from_numpy(x.astype(np.float32)), [6, 7]


def test_constant_features_neither_diverge_nor_dominate():
    data, const = _data_with_constant_columns()
    g = torch.Generator().manual_seed(0)
    model = GaussianRBM.init_random(8, 4, generator=g, data=data)
    trained = Trainer(model, data, TrainingConfig(epochs=30, seed=0)).fit()  # defaults: learned sigma
    for t in trained.parameters().values():
        assert bool(torch.isfinite(t).all())
    scale, near_constant = feature_scale(data, 8)
    assert near_constant.tolist() == [False] * 6 + [True, True]
    sigma = trained.sigma.double()
    # a constant unit keeps sigma = its floored scale (never collapses) ...
    np.testing.assert_allclose(sigma[const].numpy(), scale[const].numpy(), rtol=1e-5)
    # ... so its share of log p is bounded by the documented -log(floor sqrt(2 pi)) per unit,
    # with the floor SCALE_FLOOR * median std of the data
    floor = SCALE_FLOOR * float(data.double().std(dim=0).median())
    bound = -math.log(floor * math.sqrt(2 * math.pi))
    log_p = (-trained.free_energy(data) - exact_log_partition(trained)).double().numpy()
    # log p(x_const | x_rest) = log p(x) - log p(x_rest), the marginal computed in numpy by
    # enumerating h and integrating the constant units out (a Gaussian integral per h)
    z_model = trained.in_standard_units()
    W, a, b, s = (t.double().numpy() for t in (z_model.weight, z_model.visible_bias, z_model.hidden_bias, z_model.sigma))
    m, c = trained.visible_offset.double().numpy(), trained.visible_scale.double().numpy()
    z = (data.double().numpy() - m) / c
    rest = [i for i in range(8) if i not in const]
    terms = []
    for bits in itertools.product((0.0, 1.0), repeat=4):
        wh = W @ np.array(bits)
        e_rest = (((z[:, rest] - a[rest]) ** 2) / (2 * s[rest] ** 2) - z[:, rest] * wh[rest] / s[rest] ** 2).sum(1)
        integral = (np.log(np.sqrt(2 * np.pi) * s[const] * c[const])
                    + ((a[const] + wh[const]) ** 2 - a[const] ** 2) / (2 * s[const] ** 2)).sum()
        terms.append(b @ np.array(bits) - e_rest + integral)
    # log Z of the trained model already holds every unit's log c_i; the integral adds back log c_const
    log_p_rest = np.logaddexp.reduce(np.stack(terms), axis=0) - exact_log_partition(trained)
    share = float((log_p - log_p_rest).mean())
    assert share <= len(const) * bound + 1e-3
    # and they do not take over the fit: the six real units are modelled as well as by the same
    # recipe trained without the constant columns
    alone = GaussianRBM.init_random(6, 4, generator=torch.Generator().manual_seed(0), data=data[:, rest])
    alone = Trainer(alone, data[:, rest], TrainingConfig(epochs=30, seed=0)).fit()
    log_p_alone = (-alone.free_energy(data[:, rest]) - exact_log_partition(alone)).double().mean().item()
    assert float(log_p_rest.mean()) == pytest.approx(log_p_alone, abs=0.3)


def test_learned_sigma_stays_within_its_relative_bounds():
    data, _ = _data_with_constant_columns(seed=1)
    data[5, 2] = 80.0  # one rare, far-out value (an MNIST border pixel lit once)
    g = torch.Generator().manual_seed(1)
    model = GaussianRBM.init_random(8, 4, generator=g, data=data)
    trained = Trainer(model, data, TrainingConfig(epochs=20, seed=1, method="cd", sigma_learning_rate=1.0)).fit()
    scale, near_constant = feature_scale(data, 8)
    ratio = (trained.sigma.double() / scale).numpy()
    assert np.all(ratio[~near_constant.numpy()] >= SIGMA_FLOOR * (1 - 1e-5))
    assert np.all(ratio <= SIGMA_CEILING * (1 + 1e-5))


def test_divergence_names_the_unit_and_the_real_cause():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    x[:, 3] = x[:, 3] * 1e-3  # one unit with a tiny spread, unstandardised: 1/sigma^2 ~ 1e6
    g = torch.Generator().manual_seed(0)
    model = GaussianRBM.init_random(5, 3, generator=g, data=torch.from_numpy(x), standardize=False)
    with pytest.raises(TrainingDiverged) as err:
        Trainer(model, torch.from_numpy(x), TrainingConfig(epochs=5, seed=0, learn_sigma=False)).fit()
    message = str(err.value)
    assert "unit(s) [3]" in message and "standardize" in message, message
    # a sigma step that runs away is named as such (PCD chains, 10x the default sigma step, one outlier)
    data, _ = _data_with_constant_columns(seed=1)
    data[5, 2] = 80.0
    model = GaussianRBM.init_random(8, 4, generator=torch.Generator().manual_seed(1), data=data)
    with pytest.raises(TrainingDiverged, match=r"unit\(s\) \[2\].*sigma_learning_rate"):
        Trainer(model, data, TrainingConfig(epochs=20, seed=1, method="pcd", sigma_learning_rate=1.0)).fit()
    # the same data, standardised (the default), trains
    model = GaussianRBM.init_random(5, 3, generator=g, data=torch.from_numpy(x))
    trained = Trainer(model, torch.from_numpy(x), TrainingConfig(epochs=5, seed=0)).fit()
    assert all(bool(torch.isfinite(t).all()) for t in trained.parameters().values())


def test_persistent_chains_come_back_in_user_units():
    data, _ = _data_with_constant_columns(seed=2)
    data = data * 100 + 1000
    g = torch.Generator().manual_seed(2)
    model = GaussianRBM.init_random(8, 4, generator=g, data=data)
    trainer = Trainer(model, data, TrainingConfig(epochs=2, seed=2, method="pcd", n_chains=50))
    trainer.fit()
    chains = trainer.persistent_chains()
    assert chains is not None
    # the user's data sits near 1000; standard units would sit near 0
    assert abs(float(chains.mean()) - float(data.mean())) < 0.5 * float(data.std())


def test_ais_on_a_standardised_model_with_constant_units_matches_exact_log_z():
    # AIS runs on the stored (data-unit) parameters like on any gaussian model: no special path
    from app.rbm.partition import ais_log_partition

    data, _ = _data_with_constant_columns(seed=3)
    data = data * 5 - 2
    model = GaussianRBM.init_random(8, 4, generator=torch.Generator().manual_seed(3), data=data, dtype=torch.float64)
    trained = Trainer(model, data.double(), TrainingConfig(epochs=10, seed=3)).fit()
    exact = exact_log_partition(trained)
    est = ais_log_partition(trained, n_runs=64, n_betas=1000, generator=torch.Generator().manual_seed(0),
                            data=data.double())
    assert est.log_z == pytest.approx(exact, abs=4 * est.log_z_std + 0.05)
