"""Goal 5 (issue 17; 6 in round one): the same work on CUDA and on the CPU, when this machine has a CUDA device.

Per device: one 784x500 CD-1 epoch (10,000 rows, batch 100, ``Trainer``, best of 3), 256-chain
Gibbs sweeps, and AIS (100 runs x 1,000 betas). Prints the GPU/CPU speed ratio of each; on a
machine without CUDA it prints one N/A line saying so (nothing to measure), with ``--note``
(what the device tool's status said, e.g. that no GPU machine is lent to this task).

    .venv/bin/python bench/perf/bench_gpu.py [--note TEXT]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import BATCH, N_HIDDEN, binary_data, best_of, info, result


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(device: torch.device) -> dict[str, float]:
    from app.rbm.model import BernoulliRBM
    from app.rbm.partition import ais_log_partition
    from app.rbm.sampling import GibbsChains
    from app.rbm.training import Trainer, TrainingConfig

    x = torch.from_numpy(binary_data()).to(device)
    model = BernoulliRBM.init_random(784, N_HIDDEN, generator=torch.Generator(device=device).manual_seed(0),
                                     data=x, device=device)
    trainer = Trainer(model, x, TrainingConfig(batch_size=BATCH, epochs=100))
    chains = GibbsChains(model, 256, generator=torch.Generator(device=device).manual_seed(1))
    gen = torch.Generator(device=device).manual_seed(2)

    def timed(fn):
        def run() -> float:
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            return time.perf_counter() - t0
        return run

    with torch.no_grad():
        return best_of({"epoch": timed(trainer.run_epoch), "gibbs100": timed(lambda: chains.sweep(100)),
                        "ais": timed(lambda: ais_log_partition(model, n_runs=100, n_betas=1000, generator=gen))}, 3)


def main() -> None:
    from app.rbm.device import flush_denormals

    flush_denormals()
    ap = argparse.ArgumentParser()
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        note = "no CUDA device on this machine" + (f"; {args.note}" if args.note else "")
        info(f"goal 5 not measured: {note}")
        result(f"5 GPU/CPU speed ratio: not measured ({note})", float("nan"), float("inf"), verdict="N/A")
        return
    cpu, gpu = seconds(torch.device("cpu")), seconds(torch.device("cuda"))
    for name in cpu:
        info(f"{name}: cpu {cpu[name]:.3f}s  cuda {gpu[name]:.3f}s")
        result(f"5 GPU/CPU speed ratio, {name} (report)", cpu[name] / gpu[name], float("inf"), verdict="REPORT",
               cpu_s=round(cpu[name], 4), cuda_s=round(gpu[name], 4), gpu=torch.cuda.get_device_name())


if __name__ == "__main__":
    main()
