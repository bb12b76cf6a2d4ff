"""Remove artifact files no row points at: checkpoints and weights that a worker wrote just before
it was killed (the row never learnt their key), and files whose row was deleted. Only files older
than a grace period go, so a file written a moment before its row commits is never touched."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from app.db.tables import Dataset, Job, Model
from app.storage.artifacts import ArtifactStore

# Directories that hold row-referenced files; "cache/" (log Z results) is keyed by model id.
MANAGED = ("checkpoints", "models", "datasets")


@dataclass
class Sweep:
    kept: int = 0
    removed: int = 0
    bytes_freed: int = 0


def referenced_keys(session: Session) -> set[str]:
    stmt = union_all(select(Dataset.train_key), select(Dataset.test_key), select(Model.weights_key),
                     select(Job.checkpoint_key))
    return {key for (key,) in session.execute(stmt) if key}


def sweep_orphans(session: Session, store: ArtifactStore, grace_seconds: float, dry_run: bool = False) -> Sweep:
    referenced = referenced_keys(session)
    live_models = {model_id for (model_id,) in session.execute(select(Model.id))}
    cutoff = time.time() - grace_seconds
    result = Sweep()
    for path in sorted(store.root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(store.root).as_posix()
        parts = key.split("/")
        if parts[0] in MANAGED:
            orphan = key not in referenced
        elif parts[0] == "cache" and len(parts) >= 4:  # cache/<kind>/<model id>/<file>
            orphan = parts[2] not in live_models
        else:
            orphan = False
        if not orphan or path.stat().st_mtime > cutoff:
            result.kept += 1
            continue
        result.removed += 1
        result.bytes_freed += path.stat().st_size
        if not dry_run:
            path.unlink(missing_ok=True)
    return result
