"""Energy and log psi of a stored wave function; input checked with messages that say what to fix."""

from __future__ import annotations

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.inference.wavefunction import check_work, load_wavefunction_model
from app.vmc import queries
from app.wavefunctions.schemas import EnergyOut, EnergyRequest, LogPsiOut, LogPsiRequest


def energy(ctx: ServiceContext, session: Session, model_id: str, body: EnergyRequest) -> EnergyOut:
    _, stored = load_wavefunction_model(ctx, session, model_id)
    check_work(ctx, stored, body.n_samples, "energy")
    ev = queries.energy(stored, body.n_samples, body.seed)
    return EnergyOut(**{k: v for k, v in ev.as_dict().items() if k in EnergyOut.model_fields})


def log_psi(ctx: ServiceContext, session: Session, model_id: str, body: LogPsiRequest) -> LogPsiOut:
    _, stored = load_wavefunction_model(ctx, session, model_id)
    n, limit = len(body.data), ctx.settings.max_vectors_per_request
    d = stored.system.n_visible
    if n == 0:
        raise InvalidRequest(f"data is empty; send at least one configuration of length {d}")
    if n > limit:
        raise PayloadTooLarge(f"data has {n} rows; the limit is {limit} (RBM_MAX_VECTORS_PER_REQUEST)")
    if any(len(r) != d for r in body.data):
        raise InvalidRequest(f"every row needs {d} values (n_visible of this wave function)")
    x = np.asarray(body.data, dtype=np.float64)
    if not np.isfinite(x).all():
        raise InvalidRequest("data must be finite numbers")
    if not stored.system.continuous and not np.isin(x, (-1.0, 1.0)).all():
        raise InvalidRequest("spin configurations hold -1 or +1 only")
    values, sign = queries.log_psi(stored, torch.from_numpy(x))
    return LogPsiOut(log_psi=values.tolist(), sign=None if sign is None else sign.tolist())
