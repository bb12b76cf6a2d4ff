"""The final evaluation against exact enumeration on small models."""

import numpy as np
import torch

from app.rbm.evaluation import evaluate_model
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
    ev = evaluate_model(m, train, budget_seconds=3, exact_bits=0, n_chains=100, n_replicas=4, seed=1)
    exact = float((-ref.bb_free_energy(train.numpy(), *np_params(m))).mean() - ref.bb_log_z(*np_params(m)))
    assert ev.log_z_method == "ais" and ev.ais_runs == 100 and ev.ais_betas >= 1000
    lo, hi = ev.ll_train_reverse, ev.ll_train
    assert abs(hi - lo) < 0.1, (lo, hi)
    assert lo - 0.05 < exact < hi + 0.05, (lo, exact, hi)
