"""The final, honest evaluation of a trained model: a log-likelihood bracket and a sample check.

Per-epoch metrics stay cheap; this runs once per finished model, within a time budget:

1. **Equilibrium samples.** Parallel tempering (:mod:`app.rbm.tempering`) from the training run's
   persistent chains when there are any (else random starts), towards the data's base rate, with
   more replicas for larger models (:func:`evaluation_replicas`) and a burn-in that respaces the
   ladder from its swap rates. The equilibrium diagnostics (:mod:`app.rbm.diagnostics`) read the
   run. The mean free energy of these samples is reported beside the data's: a model whose own
   samples sit far below the data in free energy has spurious modes, whatever its likelihood
   says. The final states are returned, so the caller can store them as equilibrium starts.
2. **log Z.** Exact when the enumerated layer is small enough (``exact_bits``), else annealed
   importance sampling both ways, with at least the betas the size rule asks for
   (:func:`required_betas`: 10 per unit, so 12,840 for 784x500) and fewer runs when the budget is
   short: forward from the base rate (a stochastic lower bound on log Z) and reverse from the PT
   samples (an upper bound when they are exact model samples; Burda et al. 2015). Runs and betas
   are reported. Reverse runs also when the samples failed the diagnostics: an MNIST 784x500 model's
   PT chains hop between digit modes too slowly for split R-hat < 1.05 in 1,000 sweeps, yet its
   reverse and forward runs agree within 0.6 nats (bench/README.md); the verdict then says that
   the reverse end is not a proven bound.
3. **Log-likelihood.** ``-F(v) - log Z`` averaged over (a seeded subset of) the train and test
   rows. With AIS, :func:`judge_bracket` decides what may be reported: a valid bracket
   ``[ll_reverse, ll_forward]`` (reverse log Z not below forward beyond the noise) with its width;
   ``ll_reliable`` only when it is also at most MAX_WIDTH nats wide, ran the rule's betas and
   started from samples that passed the diagnostics. An inverted bracket or a forward-only
   estimate gives likelihoods ``None``; ``ll_reason`` says why in words.
"""

from __future__ import annotations

import math
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
#: persistent chains a few hundred suffice, but a 64x64 Ising model at T=2.5 needed more than 300 for
#: split R-hat < 1.05; the diagnostics say). The first ADAPT_SHARE of them
#: are burn-in that respaces the ladder from its swap rates (``TemperedChains.adapt_ladder``).
MIN_SWEEPS, MAX_SWEEPS, ADAPT_SHARE = 20, 1000, 0.25
#: PT replicas: 12 for up to REPLICA_UNITS units, growing like sqrt(V + H) above (a pair's swap
#: rate falls like exp(-c N dbeta^2) with N units), at most MAX_REPLICAS. 784x500: 38.
BASE_REPLICAS, REPLICA_UNITS, MAX_REPLICAS = 12, 128, 48
#: Share of the budget for the equilibrium samples; the rest goes to AIS.
SAMPLE_SHARE = 0.3
#: Rows of train / test data scored (seeded subset; the mean's standard error is ~F's std / sqrt(n)).
MAX_ROWS = 5000
#: AIS size rule: at least BETAS_PER_UNIT x (V + H) intermediate betas (MIN_BETAS .. MAX_BETAS):
#: forward AIS with too few betas underestimates log Z (a 784x500 MNIST model with 1,519 betas
#: read ~20 nats too high in likelihood). More when the budget allows, up to max(rule, BUDGET_BETAS).
BETAS_PER_UNIT, MIN_BETAS, MAX_BETAS, BUDGET_BETAS = 10, 1000, 20000, 10000
#: AIS runs per direction: RUNS, fewer (down to MIN_RUNS) when the budget cannot pay for the
#: betas the rule asks for at RUNS ...
RUNS, MIN_RUNS = 100, 16
#: ... except that the rule's betas at MIN_RUNS are run when they cost at most OVERRUN x the AIS
#: share (small models, where per-step overhead, not the runs, sets the cost).
OVERRUN = 2.0
#: A bracket is valid when reverse log Z >= forward log Z - (BRACKET_SIGMAS x the combined
#: standard error + BRACKET_SLACK); reliable when also at most MAX_WIDTH nats wide.
BRACKET_SIGMAS, BRACKET_SLACK, MAX_WIDTH = 3.0, 0.05, 2.0


def required_betas(n_visible: int, n_hidden: int) -> int:
    """Intermediate betas the AIS size rule asks for (see BETAS_PER_UNIT)."""
    return int(min(MAX_BETAS, max(MIN_BETAS, BETAS_PER_UNIT * (n_visible + n_hidden))))


def evaluation_replicas(n_visible: int, n_hidden: int) -> int:
    """PT replicas of the evaluation's ladder for a model of this size (see BASE_REPLICAS)."""
    scale = math.sqrt(max(1.0, (n_visible + n_hidden) / REPLICA_UNITS))
    return int(min(MAX_REPLICAS, round(BASE_REPLICAS * scale)))


@dataclass
class Bracket:
    """Verdict on a log Z estimate: ``reliable`` (the likelihood can be reported), ``valid`` (a
    bracket whose reverse end is not below its forward end), ``width`` in nats and ``reason``
    (why it is not reliable; ``None`` when it is)."""

    reliable: bool
    valid: bool
    width: float | None
    reason: str | None


def judge_bracket(forward: float, forward_std: float, reverse: float | None, reverse_std: float | None, *,
                  betas: int, betas_needed: int, starts_failed: str | None = None) -> Bracket:
    """Is ``[forward, reverse]`` (log Z from forward and reverse AIS) a bracket to report?

    Forward AIS is a stochastic lower bound on log Z; reverse AIS an upper bound only when its
    starts are exact model samples. So: no reverse run -> not reliable;
    reverse below forward by more than the noise -> an inverted, invalid bracket (one side is
    biased: too few betas, or reverse starts out of equilibrium); a valid bracket is reliable when
    at most MAX_WIDTH nats wide, run with the betas the size rule asks for, and its reverse starts
    passed the equilibrium diagnostics (``starts_failed`` says how they did not: the bracket stays
    valid, so its likelihoods are reported, but not reliable).
    """
    if reverse is None:
        return Bracket(False, False, None, f"no reverse AIS run; forward AIS alone ({betas:,} betas) gives log Z >= "
                       f"{forward:.2f} only as a stochastic lower bound, so every likelihood from it is an "
                       "upper bound, possibly far too high")
    sd = [s for s in (forward_std, reverse_std) if s is not None and math.isfinite(s)]
    noise = BRACKET_SIGMAS * math.sqrt(sum(s * s for s in sd)) + BRACKET_SLACK if len(sd) == 2 else math.inf
    width = reverse - forward
    if width < -noise:
        return Bracket(False, False, width, f"inverted bracket: reverse AIS log Z {reverse:.2f} is {-width:.2f} "
                       f"nats below forward {forward:.2f} (noise {noise:.2f}): at least one side is biased "
                       f"(forward with too few betas: {betas:,}, rule {betas_needed:,}; or reverse starts "
                       "out of equilibrium)")
    why = None
    if not math.isfinite(noise):
        why = "AIS standard errors are not finite (a single run, or degenerate weights)"
    elif betas < betas_needed:
        why = (f"{betas:,} betas, fewer than the {betas_needed:,} this model's size needs ({BETAS_PER_UNIT} per "
               f"unit): the budget did not allow more; an estimate job (kind `estimate`, n_betas >= "
               f"{betas_needed}) can run them")
    elif width > MAX_WIDTH:
        why = f"bracket {width:.2f} nats wide (more than {MAX_WIDTH})"
    if starts_failed:
        why = (f"{starts_failed}; {why}" if why else
               f"{starts_failed}: forward and reverse agree ({width:+.2f} nats), but the reverse end is a proven "
               "upper bound only from exact model samples, and both ends would miss a mode the samples never "
               "visited")
    return Bracket(why is None, True, width, why)


@dataclass
class Evaluation:
    """Everything the final evaluation measured (see module docs); ``to_metrics`` flattens it.

    ``ll_*`` are ``None`` unless ``ll_reliable``-worthy as a bracket: exact, or a valid forward /
    reverse AIS bracket (``ll_*`` the forward end, ``ll_*_reverse`` the reverse end). When not
    reliable, ``ll_reason`` says why; ``log_z`` / ``log_z_reverse`` keep the raw AIS estimates.
    """

    log_z_method: str
    log_z: float
    log_z_std: float | None
    log_z_reverse: float | None
    log_z_reverse_std: float | None
    ais_runs: int | None
    ais_betas: int | None
    ais_betas_required: int | None
    ll_reliable: bool
    ll_reason: str | None
    ll_bracket_width: float | None
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


def _ais_size(V: int, H: int, seconds: float, work_rate: float) -> tuple[int, int]:
    """``(runs, betas)`` for AIS both ways in about ``seconds``: the size rule's betas at RUNS runs
    (more betas if affordable), else fewer runs (>= MIN_RUNS), else the betas MIN_RUNS afford."""
    need = required_betas(V, H)

    def per_beta(runs: int) -> float:  # two directions, two products per beta
        return 2 * (2.0 * runs * V * H / work_rate + STEP_OVERHEAD)

    affordable = seconds / per_beta(RUNS)
    if affordable >= need:
        return RUNS, int(min(affordable, max(need, BUDGET_BETAS)))
    runs = int((seconds / need / 2 - STEP_OVERHEAD) * work_rate / (2.0 * V * H))
    if runs >= MIN_RUNS:
        return runs, need
    if need * per_beta(MIN_RUNS) <= OVERRUN * seconds:  # small models: the per-step overhead dominates
        return MIN_RUNS, need
    return MIN_RUNS, int(max(2, seconds / per_beta(MIN_RUNS)))


def evaluate_model(
    model: RBM,
    train: torch.Tensor,
    test: torch.Tensor | None = None,
    *,
    chains: torch.Tensor | None = None,
    budget_seconds: float = 60.0,
    seed: int = 0,
    exact_bits: int = 20,
    n_replicas: int | None = None,
    n_chains: int = 64,
    sweeps: int | None = None,
    work_rate: float = WORK_RATE,
) -> Evaluation:
    """Evaluate ``model`` on ``train : (N, V)`` (and ``test``) within about ``budget_seconds``.

    ``chains : (m, V)`` are start states in the model's equilibrium if known (the persistent
    chains of its training run). ``n_replicas`` defaults to :func:`evaluation_replicas`,
    ``sweeps`` (PT sweeps) to what the sampling share of the budget affords. Returns an
    :class:`Evaluation` whose ``chains`` are the final PT states at beta = 1 ``(n_chains, V)``.
    """
    start = time.perf_counter()
    dev, dt = model.device, model.dtype
    train = train.to(dev, dt)
    test = None if test is None else test.to(dev, dt)
    g = torch.Generator(device=dev).manual_seed(seed)
    V, H = model.n_visible, model.n_hidden
    n_replicas = n_replicas or evaluation_replicas(V, H)
    with torch.no_grad():
        # 1. equilibrium samples by PT: a burn-in that respaces the ladder, then the sweeps the diagnostics read
        base = base_from_data(model, _rows(train, MAX_ROWS, seed))
        v0 = start_states(model, chains.to(dev, dt) if chains is not None else "random", n_chains, g)
        pt = make_sampler(model, v0, sampler="pt", generator=g, n_replicas=n_replicas, base=base)
        # a fixed number of sweeps sized by a cost model (not a clock), so the stored chains repeat per seed
        rows = n_chains * n_replicas
        sweep_seconds = rows * (2.0 * V * H + ELEMENTWISE_OPS * (V + H)) / work_rate + SWEEP_OVERHEAD
        if sweeps is None:
            sweeps = int(min(MAX_SWEEPS, max(MIN_SWEEPS, budget_seconds * SAMPLE_SHARE / sweep_seconds)))
        burn = int(sweeps * ADAPT_SHARE) if n_replicas > 2 else 0
        if burn:
            pt.adapt_ladder(burn)
        pt.sweep(sweeps - burn)
        diagnostics = diagnose(pt.free_energy_trace().numpy(), steps=sweeps)
        rates = pt.swap_acceptance
        samples = pt.state.clone()
        f_samples = float(free_energy_chunked(model, samples).double().mean())
        tr = _rows(train, MAX_ROWS, seed)
        te = _rows(test, MAX_ROWS, seed + 1)
        f_train = free_energy_chunked(model, tr).double()
        f_test = None if te is None else free_energy_chunked(model, te).double()

        # 2. log Z
        log_z_std = log_z_rev = log_z_rev_std = None
        runs = betas = need = None
        verdict = Bracket(True, True, None, None)
        if _exact_affordable(model, exact_bits):
            try:
                log_z = exact_log_partition(model, max_bits=exact_bits)
                method = "exact"
            except TooLarge:  # pragma: no cover - guarded by _exact_affordable
                method = "ais"
        else:
            method = "ais"
        if method == "ais":
            need = required_betas(V, H)
            # what the cost model leaves after the sweeps (not the clock: a busy box must not change the estimate)
            runs, betas = _ais_size(V, H, max(1.0, budget_seconds - sweeps * sweep_seconds), work_rate)
            fwd = ais_log_partition(model, n_runs=runs, n_betas=betas, generator=g, data=tr)
            log_z, log_z_std = fwd.log_z, fwd.log_z_std
            # reverse AIS is an upper bound only from exact model samples: run it anyway, judge below
            rev = ais_log_partition(model, n_runs=runs, n_betas=betas, generator=g, data=samples, reverse=True,
                                    base_visible_bias=None if isinstance(model, GaussianRBM) else base.mean)
            log_z_rev, log_z_rev_std = rev.log_z, rev.log_z_std
            starts_failed = None
            if not diagnostics.equilibrated:
                rhat = "n/a" if diagnostics.rhat is None else f"{diagnostics.rhat:.3f}"
                low = min((r for r in rates if r == r), default=float("nan"))
                starts_failed = (f"reverse AIS started from PT samples ({sweeps} sweeps of {n_replicas} replicas "
                                 f"from the training's chains) that failed the equilibrium diagnostics (split "
                                 f"R-hat {rhat}, lowest swap acceptance {low:.3f})")
            verdict = judge_bracket(log_z, log_z_std, log_z_rev, log_z_rev_std, betas=betas, betas_needed=need,
                                    starts_failed=starts_failed)

        # 3. likelihoods: forward log Z (low) gives the high end of the bracket; none from an invalid one
        def ll(f: torch.Tensor | None, lz: float | None) -> float | None:
            return None if f is None or lz is None or not verdict.valid else float(-f.mean()) - lz

        return Evaluation(
            log_z_method=method, log_z=log_z, log_z_std=log_z_std, log_z_reverse=log_z_rev,
            log_z_reverse_std=log_z_rev_std, ais_runs=runs, ais_betas=betas, ais_betas_required=need,
            ll_reliable=verdict.reliable, ll_reason=verdict.reason, ll_bracket_width=verdict.width,
            ll_train=ll(f_train, log_z), ll_train_reverse=ll(f_train, log_z_rev),
            ll_test=ll(f_test, log_z), ll_test_reverse=ll(f_test, log_z_rev),
            free_energy_samples=f_samples, free_energy_data=float(f_train.mean()),
            sample_sweeps=sweeps, sample_replicas=n_replicas, sample_chains=n_chains,
            sample_equilibrated=bool(diagnostics.equilibrated), sample_rhat=diagnostics.rhat,
            swap_acceptance_min=min(rates) if rates else None,
            seconds=time.perf_counter() - start, chains=samples.clone(), base=base,
        )
