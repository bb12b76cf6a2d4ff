"""Goal 2 (issue 17): sampling answers over HTTP against a bare torch Gibbs loop; PT per replica-sweep.

2 /samples: a real ``rbm-service serve`` (SQLite in a temp dir) holds an uploaded 784x500 model;
  the client asks for 1,000 samples from 1,000 chains after 50 Gibbs sweeps (``sampler: gibbs``,
  ``init: random``) and is timed from the request to the parsed answer: JSON (``r.json()``, the
  stdlib parser httpx uses) and, where the server offers it, ``Accept: application/x-npy``
  (``np.load``).
  Baseline: a bare, tuned torch block-Gibbs loop doing the same 50 sweeps of 1,000 chains in
  this process (``_common.bare_gibbs_seconds``, each round the fastest of uniform+compare and
  ``torch.bernoulli`` on 1 thread and on all threads: on a busy host 2 threads can be 3x slower).
  Interleaved over ``--rounds`` rounds, best of each.
2 PT: one parallel-tempering sweep of ``C`` chains x ``R`` replicas (``TemperedChains``, the
  sampler of ``sampler: pt`` and of PT training) against one Gibbs sweep (``GibbsChains``) of
  ``R x C`` chains, in process: time per replica-sweep over time per chain-sweep (<= 1.3).
Reported beside it: the same with ``RBM_API_THREADS`` = this process's torch threads (an API
process runs torch on one thread by default, the bare loop on all cores).
Kept from round one (reported): the engine's Gibbs sweeps against their GEMM ceiling and the
Metropolis cost per accepted move.

    .venv/bin/python bench/perf/bench_sampling.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import time

import httpx
import numpy as np
import torch

from _common import bare_gibbs_seconds, best_of, info, result, service
from bench_inference import upload_model
from bench_partition import model

N_CHAINS, SWEEPS = 1000, 50
NPY = "application/x-npy"


def gemm_sweeps(m, n: int, sweeps: int) -> float:
    """The two products of a sweep on fixed binary inputs into separate outputs (see
    bench_partition.gemm_seconds: fed-back raw products reach inf/NaN and skew the timing)."""
    v = (torch.rand(n, m.n_visible) < 0.2).float()
    h = (torch.rand(n, m.n_hidden) < 0.5).float()
    pre_h, pre_v = torch.empty(n, m.n_hidden), torch.empty(n, m.n_visible)
    t0 = time.perf_counter()
    for _ in range(sweeps):
        torch.addmm(m.hidden_bias, v, m.weight, out=pre_h)
        torch.addmm(m.visible_bias, h, m.weight.T, out=pre_v)
    return time.perf_counter() - t0


def ask_samples(client: httpx.Client, url: str, seed: int, n_chains: int, sweeps: int,
                accept: str | None) -> tuple[float, np.ndarray]:
    body = {"n_samples": n_chains, "n_chains": n_chains, "steps": sweeps, "thin": 1, "sampler": "gibbs",
            "init": "random", "seed": seed}
    headers = {"accept": accept} if accept else {}
    t0 = time.perf_counter()
    r = client.post(url, json=body, headers=headers)
    r.raise_for_status()
    if accept == NPY:
        if r.headers.get("content-type", "").split(";")[0] != NPY:
            raise LookupError(f"the server answered {r.headers.get('content-type')!r} to Accept: {NPY}")
        arr = np.load(io.BytesIO(r.content), allow_pickle=False)
        dt = time.perf_counter() - t0
    else:
        samples = r.json()["samples"]  # parsed as any httpx client would; the float32 copy is not timed
        dt = time.perf_counter() - t0
        arr = np.asarray(samples, dtype=np.float32)
    if arr.shape != (n_chains, 784):
        raise RuntimeError(f"/samples answered shape {arr.shape}")
    return dt, arr


def http_samples(rounds: int, n_chains: int, sweeps: int, api_threads: int | None = None) -> None:
    """``api_threads``: RBM_API_THREADS of the service (None: its default, 1 torch thread per API process)."""
    m = model(784, 500)
    env = {} if api_threads is None else {"RBM_API_THREADS": str(api_threads)}
    suffix = "" if api_threads is None else f", RBM_API_THREADS={api_threads}"
    with service(env, embedded_worker=False) as (url, _proc, _tmp):
        client = httpx.Client(timeout=300)
        mid = upload_model(client, url)
        samples_url = f"{url}/v1/models/{mid}/samples"
        ask_samples(client, samples_url, 0, 16, 2, None)  # load the model into the cache, warm the route
        binary = True
        try:
            ask_samples(client, samples_url, 0, 16, 2, NPY)
        except (LookupError, httpx.HTTPStatusError) as exc:
            info(f"no binary answer: {exc}")
            binary = False
        times: dict[str, list[float]] = {"bare": [], "json": [], "npy": []}
        all_threads = torch.get_num_threads()
        means = {}
        with torch.no_grad():
            for rnd in range(rounds):
                bare = []
                for threads in sorted({1, all_threads}):  # tuned: the faster thread count too (a busy host)
                    torch.set_num_threads(threads)
                    bare += [bare_gibbs_seconds(m.weight, m.visible_bias, m.hidden_bias, n_chains, sweeps,
                                                seed=rnd, draw=d) for d in ("uniform", "bernoulli")]
                torch.set_num_threads(all_threads)
                times["bare"].append(min(t for t, _ in bare))
                means["bare"] = float(bare[0][1].mean())
                dt, arr = ask_samples(client, samples_url, rnd + 1, n_chains, sweeps, None)
                times["json"].append(dt)
                means["json"] = float(arr.mean())
                if binary:
                    dt, arr = ask_samples(client, samples_url, rnd + 1, n_chains, sweeps, NPY)
                    times["npy"].append(dt)
                    means["npy"] = float(arr.mean())
                info(f"/samples round {rnd + 1}: bare {times['bare'][-1]:.3f}s (uniform / bernoulli, 1 thread then "
                     f"{all_threads}: {', '.join(f'{t:.3f}' for t, _ in bare)}), JSON {times['json'][-1]:.3f}s"
                     + (f", npy {times['npy'][-1]:.3f}s" if binary else ""))
        info(f"mean pixel of the samples (same model, so alike): {means}")
        for kind, label in (("json", "JSON"), ("npy", "x-npy")):
            goal = (f"2 /samples {n_chains} chains x {sweeps} sweeps 784x500, {label} answer{suffix} / bare torch "
                    "Gibbs " + ("(>= 0.8)" if api_threads is None else "(report)"))
            if not times[kind]:
                result(goal, float("nan"), 0.8, verdict="N/A", note="the server offers no Accept: application/x-npy")
                continue
            runs = [b / t for b, t in zip(times["bare"], times[kind])]
            result(goal, min(times["bare"]) / min(times[kind]), 0.8, runs=runs,
                   verdict=None if api_threads is None else "REPORT",
                   service_s=round(min(times[kind]), 3), bare_s=round(min(times["bare"]), 3))


def pt_vs_gibbs(rounds: int, chains: int, replicas: int, sweeps: int) -> None:
    from app.rbm.sampling import GibbsChains
    from app.rbm.tempering import TemperedChains, default_betas

    m = model(784, 500)
    rows = chains * replicas
    gen = torch.Generator().manual_seed(0)
    gibbs = GibbsChains(m, rows, generator=torch.Generator().manual_seed(1))
    gibbs.v.copy_((torch.rand(rows, 784, generator=gen) < 0.2).float())
    pt = TemperedChains(m, chains, default_betas(replicas), generator=torch.Generator().manual_seed(2))
    pt.v.copy_((torch.rand(rows, 784, generator=gen) < 0.2).float())
    with torch.no_grad():
        gibbs.sweep(2), pt.sweep(2)  # first-touch of the buffers
        t = {"gibbs": [], "pt": []}
        for _ in range(rounds):
            for name, ch in (("gibbs", gibbs), ("pt", pt)):
                t0 = time.perf_counter()
                ch.sweep(sweeps)
                t[name].append(time.perf_counter() - t0)
    runs = [p / g for p, g in zip(t["pt"], t["gibbs"])]
    info(f"PT {chains} chains x {replicas} replicas: {min(t['pt']) / sweeps * 1e3:.1f} ms/sweep; Gibbs {rows} chains: "
         f"{min(t['gibbs']) / sweeps * 1e3:.1f} ms/sweep; swap acceptance {np.round(pt.swap_acceptance, 2).tolist()}")
    result(f"2 PT per replica-sweep / Gibbs sweep ({chains} chains x {replicas} replicas vs {rows} chains) (<= 1.3)",
           min(t["pt"]) / min(t["gibbs"]), 1.3, higher_is_better=False, runs=runs,
           pt_ms_per_sweep=round(min(t["pt"]) / sweeps * 1e3, 2),
           gibbs_ms_per_sweep=round(min(t["gibbs"]) / sweeps * 1e3, 2))


def engine_vs_ceiling(n: int, sweeps: int) -> None:
    from app.rbm.sampling import GibbsChains, _Metropolis

    m = model(784, 500)
    with torch.no_grad():
        ch = GibbsChains(m, n, generator=torch.Generator().manual_seed(0))
        ch.v.copy_((torch.rand(n, 784) < 0.2).float())
        runs = []
        best = {"gemm": float("inf"), "gibbs": float("inf")}
        for _ in range(3):
            one = best_of({"gemm": lambda: gemm_sweeps(m, n, sweeps), "gibbs": lambda: (ch.sweep(sweeps), None)[1]}, 1)
            runs.append(one["gemm"] / one["gibbs"])
            best = {k: min(best[k], one[k]) for k in best}
        info(f"{n} chains: engine Gibbs {sweeps / best['gibbs']:.1f} sweeps/s, "
             f"GEMM ceiling {sweeps / best['gemm']:.1f}")
        result(f"r1 engine Gibbs {n} chains sweeps/s / GEMM ceiling (report; was >= 0.8)", best["gemm"] / best["gibbs"],
               float("inf"), verdict="REPORT", runs=runs, sweeps_s=round(sweeps / best["gibbs"], 1),
               ceiling_sweeps_s=round(sweeps / best["gemm"], 1))
        mh = _Metropolis(m, (torch.rand(256, 784) < 0.2).float(), torch.Generator().manual_seed(0), 1.0, None)
        t0 = time.perf_counter()
        mh.sweep()
        dt = time.perf_counter() - t0
        info(f"metropolis 256 chains: {dt:.2f}s per sweep, acceptance {mh.acceptance_rate:.3f}")
        result("r1 Metropolis 256 chains: microseconds per accepted move (report)",
               dt / max(float(mh.accepted), 1) * 1e6, float("inf"), unit="us", higher_is_better=False,
               verdict="REPORT", sweep_s=round(dt, 3), acceptance=round(mh.acceptance_rate, 4))


def main() -> None:
    from app.rbm.device import flush_denormals

    flush_denormals()  # as the service's processes run (app/cli.py)
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chains", type=int, default=N_CHAINS)
    ap.add_argument("--sweeps", type=int, default=SWEEPS)
    ap.add_argument("--pt-chains", type=int, default=64)
    ap.add_argument("--pt-replicas", type=int, default=16)
    args = ap.parse_args()
    http_samples(args.rounds, args.chains, args.sweeps)
    # An API process runs torch on 1 thread by default (RBM_API_THREADS); the bare loop uses all cores.
    http_samples(max(1, args.rounds - 1), args.chains, args.sweeps, api_threads=torch.get_num_threads())
    pt_vs_gibbs(args.rounds, args.pt_chains, args.pt_replicas, args.sweeps)
    engine_vs_ceiling(args.chains, max(5, args.sweeps // 2))


if __name__ == "__main__":
    main()
