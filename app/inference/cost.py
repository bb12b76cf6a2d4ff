"""How long a computation will take, estimated before it starts, so a synchronous request that
would outlast RBM_SYNC_MAX_SECONDS is refused up front with the job kind to use instead.

Costs are multiply-adds; ``RBM_SYNC_WORK_RATE`` turns them into seconds. The constants are
the dominant terms of each loop (two matrix products per Gibbs step; ~10 operations per
enumerated state and unit for exact log Z, whose softplus dominates)."""

from __future__ import annotations

from app.core.errors import PayloadTooLarge
from app.core.settings import Settings

#: Exact log Z: work per enumerated state and unit of the other layer (softplus, exp, sums).
_EXACT_OPS_PER_TERM = 10


def ais_work(n_runs: int, n_betas: int, n_visible: int, n_hidden: int, directions: int = 2) -> float:
    """Forward (+ reverse) AIS: two products of (runs x V) by (V x H) per beta and direction."""
    return 2.0 * directions * n_runs * n_betas * n_visible * n_hidden


def exact_work(bits: int, other_width: int) -> float:
    return float(2**bits) * other_width * _EXACT_OPS_PER_TERM


def gibbs_work(chains: int, sweeps: int, n_visible: int, n_hidden: int) -> float:
    return 2.0 * chains * sweeps * n_visible * n_hidden


def check_sync(work: float, settings: Settings, what: str, instead: str) -> None:
    """413 when ``work`` would take longer than the synchronous budget; the message says which
    job to submit instead."""
    seconds = work / settings.sync_work_rate
    if seconds > settings.sync_max_seconds:
        raise PayloadTooLarge(
            f"{what} would take about {seconds:,.0f} s here, over the {settings.sync_max_seconds:g} s limit for a "
            f"synchronous request (RBM_SYNC_MAX_SECONDS): {instead}")
