"""The final evaluation against exact enumeration on small models."""

import numpy as np
import pytest
import torch

from app.rbm import evaluation
from app.rbm.diagnostics import Diagnostics
from app.rbm.evaluation import evaluate_model, judge_bracket, required_betas
from app.rbm.model import BernoulliRBM
from app.rbm.likelihood import log_prob_all_states
from tests.rbm import reference as ref
from tests.rbm.models import np_params, random_bb


def _data(m, n, seed):
    """Exact samples of the model itself, as 0/1 rows."""
    logp = ref.bb_log_prob(*np_params(m))
    idx = torch.multinomial(torch.from_numpy(np.exp(logp)), n, replacement=True,
                            generator=torch.Generator().manual_seed(seed))
    return torch.from_numpy(ref.states(m.n_visible)[idx.numpy()]).double()


def test_exact_path_reports_the_exact_likelihood_and_the_sample_check():
    m = random_bb(8, 6, 1.0, 0)
    train, test = _data(m, 3000, 1), _data(m, 500, 2)
    ev = evaluate_model(m, train, test, budget_seconds=2, n_chains=200, n_replicas=4, seed=0)
    W, a, b = np_params(m)
    log_z = ref.bb_log_z(W, a, b)
    assert ev.log_z_method == "exact" and abs(ev.log_z - log_z) < 1e-8 and ev.log_z_reverse is None
    expected = float((-ref.bb_free_energy(test.numpy(), W, a, b)).mean() - log_z)
    assert abs(ev.ll_test - expected) < 1e-6
    # the model's own samples and data drawn from the model have the same mean free energy
    lp = log_prob_all_states(m, log_z).numpy()
    mean_f = float((np.exp(lp) * ref.bb_free_energy(ref.states(8), W, a, b)).sum())
    sd = float(np.sqrt((np.exp(lp) * (ref.bb_free_energy(ref.states(8), W, a, b) - mean_f) ** 2).sum()))
    assert abs(ev.free_energy_samples - mean_f) < 5 * sd / np.sqrt(200)
    assert ev.chains.shape == (200, 8)
    assert set(ev.to_metrics()) >= {"final_ll_test", "final_free_energy_samples", "final_free_energy_data"}


def test_ais_path_brackets_the_exact_likelihood():
    m = random_bb(10, 8, 0.8, 3)
    train = _data(m, 2000, 4)
    ev = evaluate_model(m, train, budget_seconds=8, exact_bits=0, n_chains=100, n_replicas=4, seed=1)
    log_z = ref.bb_log_z(*np_params(m))
    exact = float((-ref.bb_free_energy(train.numpy(), *np_params(m))).mean() - log_z)
    assert ev.log_z_method == "ais" and ev.ais_runs == 100 and ev.ais_betas >= ev.ais_betas_required == 1000
    assert ev.sample_equilibrated and ev.ll_reliable and ev.ll_reason is None
    # forward <= exact <= reverse for log Z (up to the noise the verdict allows)
    noise = 3 * np.hypot(ev.log_z_std, ev.log_z_reverse_std) + 0.05
    assert ev.log_z - noise < log_z < ev.log_z_reverse + noise, (ev.log_z, log_z, ev.log_z_reverse)
    lo, hi = ev.ll_train_reverse, ev.ll_train
    assert abs(hi - lo) < 0.1 and abs(ev.ll_bracket_width - (ev.log_z_reverse - ev.log_z)) < 1e-9, (lo, hi)
    assert lo - 0.05 < exact < hi + 0.05, (lo, exact, hi)


def _two_modes() -> BernoulliRBM:
    """12 visibles, one hidden unit: a heavy 'all off' mode and, 6 nats lighter, an 'all on' mode
    that block Gibbs sampling at beta = 1 practically never leaves (h = 1 keeps ~95 % of pixels on)."""
    d = torch.float64
    return BernoulliRBM(torch.full((12, 1), 6.0, dtype=d), torch.full((12,), -3.0, dtype=d),
                        torch.tensor([-42.0], dtype=d))


def test_reverse_ais_from_chains_stuck_in_a_light_mode_is_flagged_not_reported(monkeypatch):
    m = _two_modes()
    # data the model fits badly (90 % of pixels on: the light mode), so the base rate favours that mode
    train = (torch.rand(1000, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64) < 0.9).double()
    stuck = torch.ones(32, 12, dtype=torch.float64)
    # the diagnostics would catch these starts (below); pretend they passed, as a lax rule would
    monkeypatch.setattr(evaluation, "diagnose", lambda trace, steps: Diagnostics(
        "free_energy", 1.0, 1.0, 100.0, trace.shape[1], steps, steps, True, True))
    ev = evaluate_model(m, train, chains=stuck, budget_seconds=8, exact_bits=0, n_chains=32, n_replicas=2,
                        sweeps=8, seed=0)
    log_z = ref.bb_log_z(*np_params(m))
    assert ev.log_z_reverse < log_z - 3 < ev.log_z + 0.5  # the reverse run read the light mode's mass only
    assert ev.ll_reliable is False and "inverted bracket" in ev.ll_reason
    assert ev.ll_train is None and ev.ll_train_reverse is None and ev.ll_bracket_width < -3
    metrics = ev.to_metrics()
    assert metrics["final_ll_reliable"] is False and metrics["final_ll_train"] is None


def test_reverse_ais_from_starts_that_fail_the_diagnostics_runs_and_is_not_trusted():
    m = _two_modes()
    ev = evaluate_model(m, _data(m, 1000, 5), chains=torch.ones(32, 12, dtype=torch.float64), budget_seconds=8,
                        exact_bits=0, n_chains=32, n_replicas=2, sweeps=8, seed=0)
    log_z = ref.bb_log_z(*np_params(m))
    assert not ev.sample_equilibrated and ev.log_z_reverse is not None
    # forward is right; the reverse run from the light mode overshoots (the base rate favours the
    # heavy mode), so the bracket holds the truth but is wide, and the reason names both faults
    assert ev.log_z == pytest.approx(log_z, abs=0.05) and ev.log_z_reverse > log_z + 1
    assert ev.ll_reliable is False and ev.ll_reason.startswith("reverse AIS started from PT samples")
    assert "failed the equilibrium diagnostics" in ev.ll_reason and "wide" in ev.ll_reason
    assert ev.ll_train_reverse < ev.ll_train  # reported as the bracket it is


def test_a_valid_bracket_from_starts_that_failed_the_diagnostics_is_reported_but_not_reliable():
    starts = "reverse AIS started from PT samples ... that failed the equilibrium diagnostics (split R-hat 1.2)"
    v = judge_bracket(100.0, 0.2, 99.9, 0.2, betas=2000, betas_needed=1000, starts_failed=starts)
    assert (v.reliable, v.valid) == (False, True) and v.width == pytest.approx(-0.1)
    assert v.reason.startswith(starts) and "proven upper bound" in v.reason
    inverted = judge_bracket(100.0, 0.01, 98.0, 0.01, betas=2000, betas_needed=1000, starts_failed=starts)
    assert (inverted.reliable, inverted.valid) == (False, False) and "inverted" in inverted.reason


@pytest.mark.parametrize(("fwd", "rev", "betas", "reliable", "valid", "words"), [
    (100.0, 100.5, 2000, True, True, None),
    (100.0, 99.0, 2000, False, False, "inverted"),
    (100.0, 99.99, 2000, True, True, None),  # within the noise
    (100.0, 104.0, 2000, False, True, "wide"),
    (100.0, 100.5, 500, False, True, "fewer than"),
    (100.0, None, 2000, False, False, "lower bound"),
])
def test_judge_bracket(fwd, rev, betas, reliable, valid, words):
    v = judge_bracket(fwd, 0.01, rev, None if rev is None else 0.01, betas=betas, betas_needed=1000)
    assert (v.reliable, v.valid) == (reliable, valid)
    assert (v.reason is None) if words is None else (words in v.reason)


def test_betas_scale_with_the_model():
    assert required_betas(10, 8) == 1000 and required_betas(64, 64) == 1280
    assert required_betas(784, 500) == 12840 and required_betas(10_000, 10_000) == 20000
    assert evaluation.evaluation_replicas(16, 16) == 12 and evaluation.evaluation_replicas(784, 500) == 38
