"""Runner of kind `vmc`: one progress event per iteration (energy, error, variance, acceptance),
checkpoints of the whole VMC state, a `wavefunction` model and the evaluated energy at the end."""

from __future__ import annotations

import logging
import time

from app.db.states import ModelKind
from app.jobs.kinds.vmc import VMCJob, resolve_job
from app.vmc.config import config_to_dict
from app.vmc.driver import VMC
from app.vmc.io import state_to_tensors, tensors_to_state, wavefunction_bytes
from app.vmc.systems import system_to_dict
from app.worker.job_run import JobRun, StoredModel

log = logging.getLogger(__name__)


def run(job: JobRun, spec: VMCJob) -> None:
    started = time.perf_counter()
    system, model, config = resolve_job(spec)
    vmc = VMC(system, model, config)
    state = job.checkpoint.load()
    if state is not None:
        vmc.load_state_dict(tensors_to_state(state, vmc))
        log.info("job %s: resumed at iteration %d", job.job_id, vmc.iteration)

    def on_iteration(rec: dict) -> bool:
        metrics = {k: rec[k] for k in ("energy", "energy_error", "variance", "acceptance")}
        if vmc.exact_energy is not None:
            metrics["exact_energy"] = vmc.exact_energy
        job.progress(rec["iteration"], metrics, state=lambda: state_to_tensors(vmc.state_dict()))
        return True

    vmc.run(callback=on_iteration)
    ev = vmc.evaluate()
    result = {"energy": ev.energy, "energy_error": ev.energy_error, "variance": ev.variance,
              "acceptance": ev.acceptance, "n_samples": ev.n_samples, "exact_energy": ev.exact_energy,
              "relative_error": ev.relative_error, "iterations": vmc.iteration,
              "seconds": round(time.perf_counter() - started, 3)}
    info = {"system": system_to_dict(system), "model": config_to_dict(model), "n_params": vmc.wf.n_params}
    # visible_type names the RBM's visible units: Gaussian over coordinates, binary over spins
    job.succeed(StoredModel(
        weights=wavefunction_bytes(vmc, {"job_id": job.job_id}),
        visible_type="gaussian" if system.continuous else "bernoulli", n_visible=system.n_visible,
        n_hidden=model.hidden_units(system.n_visible), kind=ModelKind.wavefunction,
        training={"system": system_to_dict(system), "model": config_to_dict(model), "vmc": config_to_dict(config)},
        metrics=result, info=info), result=result)
