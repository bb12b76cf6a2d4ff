"""The VMC driver: seeds reproduce, checkpoints resume bit-identically, callbacks stop,
evaluation chunks large sample counts, small systems reach their exact energies."""

from __future__ import annotations

import pytest
import torch

from app.vmc.driver import VMC
from app.vmc.exact import tfim_ground_energy
from app.vmc.systems import system_from_dict

TFIM6 = {"type": "tfim", "n_spins": 6, "h": 1.0, "J": 1.0, "pbc": True}
TRAP = {"type": "harmonic_trap", "n_particles": 2, "dim": 2, "omega": 1.0, "interaction": "coulomb"}
HEIS6 = {"type": "heisenberg", "n_spins": 6, "J": 1.0, "pbc": True}


@pytest.mark.parametrize("system,model,config", [
    (TFIM6, None, {"iterations": 6, "n_samples": 200, "n_chains": 50}),
    (HEIS6, None, {"iterations": 6, "n_samples": 200, "n_chains": 50, "optimizer": "adam"}),
    (TRAP, {"jastrow": True}, {"iterations": 6, "n_samples": 400, "n_chains": 100, "optimizer": "adam"}),
    (TRAP, None, {"iterations": 6, "n_samples": 400, "n_chains": 100, "sampler": "metropolis", "optimizer": "sgd"}),
])
def test_checkpoint_resumes_bit_identically(system, model, config):
    full = VMC(system, model, config)
    h_full = full.run()
    first = VMC(system, model, config)
    h1 = first.run(3)
    state = first.state_dict()
    resumed = VMC(system, model, config)
    resumed.load_state_dict(state)
    h2 = resumed.run()
    assert torch.equal(full.wf.params, resumed.wf.params)
    assert h_full == h1 + h2
    assert torch.equal(full.sampler.state, resumed.sampler.state)


def test_same_seed_same_run_other_seed_other_run():
    cfg = {"iterations": 3, "n_samples": 200, "n_chains": 50}
    a, b, c = VMC(TFIM6, None, cfg), VMC(TFIM6, None, cfg), VMC(TFIM6, None, {**cfg, "seed": 1})
    assert a.run() == b.run()
    assert a.evaluate(2000, seed=3) == b.evaluate(2000, seed=3)
    c.run()
    assert not torch.equal(a.wf.params, c.wf.params)


def test_callback_false_stops_and_records_have_the_fields():
    seen = []
    v = VMC(TFIM6, None, {"iterations": 50, "n_samples": 100, "n_chains": 50})
    v.run(callback=lambda r: seen.append(r) or len(seen) < 4)
    assert len(seen) == 4 and v.iteration == 4
    assert set(seen[0]) == {"iteration", "energy", "energy_error", "variance", "acceptance"}


def test_evaluate_handles_100k_samples_in_chunks():
    v = VMC(TFIM6, None, {"iterations": 1, "n_samples": 100, "n_chains": 50})
    ev = v.evaluate(100_000, seed=0)
    assert ev.n_samples >= 100_000
    assert ev.energy_error > 0 and ev.variance > 0


def test_tfim_6_spins_reaches_exact_energy():
    v = VMC(TFIM6, None, {"iterations": 150})
    v.run()
    ev = v.evaluate(20_000, seed=1)
    assert abs(ev.energy - tfim_ground_energy(6, 1.0, 1.0, True)) < max(3 * ev.energy_error, 2e-3)
    assert ev.energy > ev.exact_energy - 3 * ev.energy_error  # variational


def test_heisenberg_6_spins_with_marshall_sign_reaches_exact_energy():
    v = VMC(HEIS6, None, {"iterations": 80})
    v.run()
    ev = v.evaluate(20_000, seed=1)
    assert ev.relative_error < 2e-3


def test_noninteracting_bosons_defaults_give_exact_energy_and_zero_variance():
    v = VMC({**TRAP, "interaction": "none"}, None, {"iterations": 50})
    v.run()
    ev = v.evaluate(20_000, seed=0)
    assert abs(ev.energy - 2.0) < 1e-4 and ev.variance < 1e-6


@pytest.mark.parametrize("spec,msg", [
    ({"type": "harmonic_trap", "omega": 0}, "omega"),
    ({"type": "harmonic_trap", "dim": 4}, "dim"),
    ({"type": "harmonic_trap", "dim": 1, "interaction": "coulomb"}, "coulomb"),
    ({"type": "heisenberg", "n_spins": 5, "pbc": True}, "Marshall"),
    ({"type": "ising3d"}, "unknown system"),
    ({"type": "tfim", "spins": 4}, "bad fields"),
])
def test_bad_systems_are_refused_with_a_reason(spec, msg):
    with pytest.raises(ValueError, match=msg):
        system_from_dict(spec)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="multiple of n_chains"):
        VMC(TFIM6, None, {"n_samples": 150, "n_chains": 100})
    with pytest.raises(ValueError, match="unknown settings"):
        VMC(TFIM6, None, {"n_sample": 10})
    with pytest.raises(ValueError, match="optimizer"):
        VMC(TFIM6, None, {"optimizer": "lbfgs"})
    with pytest.raises(ValueError, match="sampler"):
        VMC(TRAP, None, {"sampler": "flip"})


def test_wavefunction_and_checkpoint_round_trip_through_safetensors():
    from app.vmc.io import is_wavefunction, load_wavefunction, state_to_tensors, tensors_to_state, wavefunction_bytes
    from safetensors.torch import load, save

    cfg = {"iterations": 4, "n_samples": 400, "n_chains": 100, "optimizer": "adam"}
    full = VMC(TRAP, {"jastrow": True}, cfg)
    full.run()
    first = VMC(TRAP, {"jastrow": True}, cfg)
    first.run(2)
    blob = save(state_to_tensors(first.state_dict()))
    resumed = VMC(TRAP, {"jastrow": True}, cfg)
    resumed.load_state_dict(tensors_to_state(load(blob), resumed))
    resumed.run()
    assert torch.equal(full.wf.params, resumed.wf.params)
    data = wavefunction_bytes(full, {"job_id": "x"})
    assert is_wavefunction(data) and not is_wavefunction(b"garbage!" * 4)
    stored = load_wavefunction(data)
    x = torch.randn(7, 4, dtype=torch.float64)
    assert torch.equal(stored.wf.log_psi(x), full.wf.log_psi(x))
    assert stored.system == full.system and stored.info == {"job_id": "x"}


def test_one_sample_gives_no_error_bar_instead_of_nan():
    v = VMC(TFIM6, None, {"iterations": 1, "n_samples": 1, "n_chains": 1})
    rec = v.step()
    assert rec["energy_error"] is None
    assert v.evaluate(1, seed=0).energy_error is None
