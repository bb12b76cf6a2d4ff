"""NetKet on the TFIM chain N = 20, h = J = 1: time until its own per-iteration energy
estimate first lies within a relative error of the exact -25.49098969.

Run with a Python that has netket (kept out of the service's dependencies):
    /path/to/venv/bin/pip install netket
    /path/to/venv/bin/python bench/vmc/netket_tfim.py --lr 0.05 --shift 0.01
Prints one JSON line. The clock starts just before ``driver.run`` (JIT compilation of
the first step is inside it, as it is for any user); ``t_first_iter_s`` says how much
of that the first iteration took.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import netket as nk  # noqa: E402

EXACT = -2 / math.sin(math.pi / 40)  # -25.49098969, free fermions (app/vmc/exact.py)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--alpha", type=int, default=1)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--shift", type=float, default=0.01)
    ap.add_argument("--target", type=float, default=2e-4)
    ap.add_argument("--max-iter", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    g = nk.graph.Chain(length=a.n, pbc=True)
    hi = nk.hilbert.Spin(s=0.5, N=a.n)
    H = nk.operator.Ising(hi, g, h=1.0, J=-1.0)  # -h sum X + J sum ZZ: J = -1 is our J = +1
    model = nk.models.RBM(alpha=a.alpha, param_dtype=float)
    sampler = nk.sampler.MetropolisLocal(hi, n_chains=a.chains)
    vs = nk.vqs.MCState(sampler, model, n_samples=a.samples, seed=a.seed, sampler_seed=a.seed + 1)
    driver = nk.driver.VMC(H, nk.optimizer.Sgd(learning_rate=a.lr), variational_state=vs,
                           preconditioner=nk.optimizer.SR(diag_shift=a.shift))
    times, energies = [], []
    hit: dict = {}
    t0 = time.perf_counter()

    def cb(step, log_data, drv) -> bool:
        e = float(drv.energy.mean.real)
        times.append(time.perf_counter() - t0)
        energies.append(e)
        if abs(e - EXACT) / abs(EXACT) <= a.target and not hit:
            hit.update(iteration=step + 1, seconds=times[-1])
            return False
        return True

    driver.run(a.max_iter, out=(), callback=cb, show_progress=False)
    print(json.dumps({"code": "netket", "version": nk.__version__, "jax": jax.__version__,
                      "samples_per_step": vs.n_samples, "chains": a.chains, "lr": a.lr, "shift": a.shift,
                      "target": a.target, "iterations_to_target": hit.get("iteration"),
                      "seconds_to_target": hit.get("seconds"), "t_first_iter_s": times[0] if times else None,
                      "iterations_run": len(times), "last_energy": energies[-1] if energies else None}))


if __name__ == "__main__":
    main()
