"""The final, honest evaluation of a trained model: a log-likelihood bracket and a sample check.

Per-epoch metrics stay cheap; this runs once per finished model, within a time budget:

1. **Equilibrium samples.** Parallel tempering (:mod:`app.rbm.tempering`) from the training run's
   persistent chains when there are any (else random starts), towards the data's base rate. The
   mean free energy of these samples is reported beside the data's: a model whose own samples sit
   far below the data in free energy has spurious modes, whatever its likelihood says. The final
   states are returned, so the caller can store them with the model as equilibrium starts.
2. **log Z.** Exact when the enumerated layer is small enough (``exact_bits``), else annealed
   importance sampling both ways: forward from the base rate (a stochastic lower bound on log Z)
   and reverse from the PT samples (an upper bound when they are exact model samples; Burda et al.
   2015). ``n_runs`` and ``n_betas`` are sized to the budget and reported.
3. **Log-likelihood.** ``-F(v) - log Z`` averaged over (a seeded subset of) the train and test
   rows: with AIS a bracket ``[ll_reverse, ll_forward]`` (forward log Z low => likelihood high).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from app.rbm.diagnostics import diagnose
from app.rbm.errors import TooLarge
from app.rbm.likelihood import free_energy_chunked
from app.rbm.model import RBM, GaussianRBM
from app.rbm.partition import ais_log_partition, exact_log_partition
from app.rbm.rows import pick_rows
from app.rbm.sampling import make_sampler, start_states
from app.rbm.tempering import TemperingBase, base_from_data

#: Multiply-adds per second assumed when sizing AIS to what is left of the budget (a busy 2-core
#: box does about this; a faster machine just finishes early).
WORK_RATE = 5e9
#: Seconds of Python and dispatch overhead per PT sweep / per AIS step and direction, which
#: dominate on small models (an AIS step of a 64x64 model took 2.3 ms on the busy 2-core box);
#: elementwise operations per unit and sweep (draws, sigmoids, compares).
SWEEP_OVERHEAD, STEP_OVERHEAD, ELEMENTWISE_OPS = 3e-4, 2e-3, 60.0
#: PT sweeps: between MIN_SWEEPS and MAX_SWEEPS, sized to the sampling share of the budget (from
#: persistent chains a few hundred suffice; the diagnostics say).
MIN_SWEEPS, MAX_SWEEPS = 20, 300
#: Share of the budget for the equilibrium samples; the rest goes to AIS.
SAMPLE_SHARE = 0.3
#: Rows of train / test data scored (seeded subset; the mean's standard error is ~F's std / sqrt(n)).
MAX_ROWS = 5000


@dataclass
class Evaluation:
    """Everything the final evaluation measured (see module docs); ``to_metrics`` flattens it."""

    log_z_method: str
    log_z: float
    log_z_reverse: float | None
    ais_runs: int | None
    ais_betas: int | None
    ll_train: float | None
    ll_train_reverse: float | None
    ll_test: float | None
    ll_test_reverse: float | None
    free_energy_samples: float
    free_energy_data: float
    sample_sweeps: int
    sample_replicas: int
    sample_chains: int
    sample_equilibrated: bool
    sample_rhat: float | None
    swap_acceptance_min: float | None
    seconds: float
    chains: torch.Tensor | None = field(default=None, repr=False)
    base: TemperingBase | None = field(default=None, repr=False)

    def to_metrics(self) -> dict[str, float | int | bool | str | None]:
        """Flat ``final_*`` keys for a job's metrics and result (no tensors)."""
        d = asdict(self)
        d.pop("chains")
        d.pop("base")
        return {f"final_{k}": v for k, v in d.items()}


def _rows(data: torch.Tensor | None, n: int, seed: int) -> torch.Tensor | None:
    if data is None or data.shape[0] == 0:
        return None
    if data.shape[0] <= n:
        return data
    return data[torch.from_numpy(pick_rows(data.shape[0], n, seed)).to(data.device)]


def _exact_affordable(model: RBM, exact_bits: int) -> bool:
    return model.exact_bits <= exact_bits


def evaluate_model(
    model: RBM,
    train: torch.Tensor,
    test: torch.Tensor | None = None,
    *,
    chains: torch.Tensor | None = None,
    budget_seconds: float = 60.0,
    seed: int = 0,
    exact_bits: int = 20,
    n_replicas: int = 12,
    n_chains: int = 64,
    work_rate: float = WORK_RATE,
) -> Evaluation:
    """Evaluate ``model`` on ``train : (N, V)`` (and ``test``) within about ``budget_seconds``.

    ``chains : (m, V)`` are start states in the model's equilibrium if known (the persistent
    chains of its training run). Returns an :class:`Evaluation` whose ``chains`` are the final
    PT states at beta = 1 ``(n_chains, V)``.
    """
    start = time.perf_counter()
    dev, dt = model.device, model.dtype
    train = train.to(dev, dt)
    test = None if test is None else test.to(dev, dt)
    g = torch.Generator(device=dev).manual_seed(seed)
    V, H = model.n_visible, model.n_hidden
    with torch.no_grad():
        # 1. equilibrium samples by PT, in blocks of sweeps until the time share or MAX_SWEEPS is spent
        base = base_from_data(model, _rows(train, MAX_ROWS, seed))
        v0 = start_states(model, chains.to(dev, dt) if chains is not None else "random", n_chains, g)
        pt = make_sampler(model, v0, sampler="pt", generator=g, n_replicas=n_replicas, base=base)
        # a fixed number of sweeps sized by a cost model (not a clock), so the stored chains repeat per seed
        rows = n_chains * n_replicas
        sweep_seconds = rows * (2.0 * V * H + ELEMENTWISE_OPS * (V + H)) / work_rate + SWEEP_OVERHEAD
        sweeps = int(min(MAX_SWEEPS, max(MIN_SWEEPS, budget_seconds * SAMPLE_SHARE / sweep_seconds)))
        pt.sweep(sweeps)
        diagnostics = diagnose(pt.free_energy_trace().numpy(), steps=sweeps)
        rates = pt.swap_acceptance
        samples = pt.state.clone()
        f_samples = float(free_energy_chunked(model, samples).double().mean())
        tr = _rows(train, MAX_ROWS, seed)
        te = _rows(test, MAX_ROWS, seed + 1)
        f_train = free_energy_chunked(model, tr).double()
        f_test = None if te is None else free_energy_chunked(model, te).double()

        # 2. log Z
        log_z_rev = None
        runs = betas = None
        if _exact_affordable(model, exact_bits):
            try:
                log_z = exact_log_partition(model, max_bits=exact_bits)
                method = "exact"
            except TooLarge:  # pragma: no cover - guarded by _exact_affordable
                method = "ais"
        else:
            method = "ais"
        if method == "ais":
            left = max(1.0, budget_seconds - (time.perf_counter() - start))
            runs = 100
            # two directions, two products per beta
            step_seconds = 2 * (2.0 * runs * V * H / work_rate + STEP_OVERHEAD)  # both directions
            betas = int(max(1000, min(10000, left / step_seconds)))
            fwd = ais_log_partition(model, n_runs=runs, n_betas=betas, generator=g, data=tr)
            rev = ais_log_partition(model, n_runs=runs, n_betas=betas, generator=g, data=samples, reverse=True,
                                    base_visible_bias=None if isinstance(model, GaussianRBM) else base.mean)
            log_z, log_z_rev = fwd.log_z, rev.log_z

        # 3. likelihoods: forward log Z (low) gives the high end of the bracket
        def ll(f: torch.Tensor | None, lz: float | None) -> float | None:
            return None if f is None or lz is None else float(-f.mean()) - lz

        return Evaluation(
            log_z_method=method, log_z=log_z, log_z_reverse=log_z_rev, ais_runs=runs, ais_betas=betas,
            ll_train=ll(f_train, log_z), ll_train_reverse=ll(f_train, log_z_rev),
            ll_test=ll(f_test, log_z), ll_test_reverse=ll(f_test, log_z_rev),
            free_energy_samples=f_samples, free_energy_data=float(f_train.mean()),
            sample_sweeps=sweeps, sample_replicas=n_replicas, sample_chains=n_chains,
            sample_equilibrated=bool(diagnostics.equilibrated), sample_rhat=diagnostics.rhat,
            swap_acceptance_min=min(rates) if rates else None,
            seconds=time.perf_counter() - start, chains=samples.clone(), base=base,
        )
