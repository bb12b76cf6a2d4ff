"""Built-in "ising": equilibrium samples of the 2D Ising model on an L x L torus.

The sampling is delegated to :func:`app.physics.ising_mc.sample_ising` (imported
lazily so the data layer does not pay for the physics import until used).
Spins are encoded 1 = +1, 0 = -1, row-major, so ``image_shape = (L, L)``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from app.data.builtin_base import BuiltinData, BuiltinParams, holdout_fraction_field, seed_field, split_indices
from app.data.errors import DataError

T_CRITICAL = 2.0 / math.log(1.0 + math.sqrt(2.0))  # 2.269185...


class IsingParams(BuiltinParams):
    """Parameters of the "ising" data set (J = 1, k_B = 1, periodic boundaries)."""

    L: int = Field(8, ge=2, le=64, description="Lattice side; visible units = L*L.", examples=[8])
    T: float = Field(
        2.269185,
        gt=0.0,
        le=1e6,
        description="Temperature; the critical point is T_c = 2/ln(1+sqrt 2) = 2.269185.",
        examples=[2.269185],
    )
    n_samples: int = Field(10_000, ge=1, le=100_000, description="Number of configurations.", examples=[10_000])
    seed: int = seed_field()
    algorithm: Literal["auto", "metropolis", "swendsen_wang", "wolff"] = Field(
        "auto",
        description='"auto" = Swendsen-Wang near T_c (1.8 <= T <= 3.0), Metropolis elsewhere.',
        examples=["auto"],
    )
    burn_in: int | None = Field(
        None, ge=0, le=1_000_000, description="Burn-in sweeps; omit for the sampler's default.", examples=[None]
    )
    thin: int | None = Field(
        None, ge=1, le=10_000, description="Sweeps between recorded samples; omit for the default.", examples=[None]
    )
    test_fraction: float = holdout_fraction_field()


def load_ising(p: IsingParams) -> BuiltinData:
    """``(n_samples, L*L)`` binary float32 spins, optionally split; image_shape (L, L).

    ``info`` holds sample means per site over *all* samples (train + test):
    energy ``<H>/N``, magnetisation ``<M>/N`` and ``<|M|>/N`` with naive standard
    errors, and ``exact`` = Kaufman's exact finite-torus thermodynamics when available.
    """
    try:
        from app.physics.ising_mc import sample_ising
    except ImportError as exc:  # pragma: no cover - only while app.physics is absent
        raise DataError(f"The Ising sampler is not available in this installation ({exc}).") from exc

    try:
        s = sample_ising(
            p.L, p.T, p.n_samples, seed=p.seed, algorithm=p.algorithm, burn_in=p.burn_in, thin=p.thin
        )
    except ValueError as exc:
        raise DataError(f"Invalid Ising parameters: {exc}") from exc
    n_sites = p.L * p.L
    e = np.asarray(s.energy, dtype=np.float64) / n_sites
    m = np.asarray(s.magnetization, dtype=np.float64) / n_sites

    def mean_se(v: np.ndarray) -> tuple[float, float]:
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
        return float(v.mean()), se

    info: dict = {
        "L": int(s.L),
        "T": float(s.T),
        "algorithm": s.algorithm,
        "burn_in": int(s.burn_in),
        "thin": int(s.thin),
        "n_chains": int(getattr(s, "n_chains", 1)),
        "mean_energy_per_site": mean_se(e)[0],
        "mean_energy_per_site_se": mean_se(e)[1],
        "mean_magnetization_per_site": mean_se(m)[0],
        "mean_abs_magnetization_per_site": mean_se(np.abs(m))[0],
        "mean_abs_magnetization_per_site_se": mean_se(np.abs(m))[1],
        "note": "standard errors assume independent samples; chains are correlated in time",
    }
    try:
        from app.physics.ising_exact import kaufman

        info["exact"] = {k: float(v) if isinstance(v, float) else v for k, v in kaufman(p.L, p.T).items()}
    except Exception:  # noqa: BLE001 - the exact reference is optional extra information
        pass

    spins = s.spins.astype(np.float32)
    train_idx, test_idx = split_indices(len(spins), p.test_fraction, p.seed)
    return BuiltinData(
        train=np.ascontiguousarray(spins[train_idx]),
        test=None if test_idx is None else np.ascontiguousarray(spins[test_idx]),
        value_type="binary",
        image_shape=(p.L, p.L),
        info=info,
        canonical_params=p.model_dump(mode="json"),
    )
