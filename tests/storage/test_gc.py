"""The artifact sweeper removes exactly the files no row refers to, and only once they are old."""

from __future__ import annotations

import os
import time

import numpy as np

from app.db.tables import Dataset, Job
from app.storage.gc import sweep_orphans
from tests.api.helpers import digits_dataset, train_model, upload_array


def _age(store, key: str, seconds: float) -> None:
    path = store.root / key
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_sweep_removes_only_old_unreferenced_files(client, ctx, worker):
    store = ctx.store
    upload = upload_array(client, np.eye(4, dtype=np.float32))
    job = train_model(client, worker, digits_dataset(client)["id"])
    model = client.get(f"/v1/models/{job['model_id']}").json()
    client.post(f"/v1/models/{model['id']}/partition-function", json={"method": "exact"})
    orphan_ckpt = store.put_bytes(store.new_key("checkpoints", ".safetensors"), b"left by a killed worker")
    orphan_weights = store.put_bytes(store.new_key("models", ".safetensors"), b"never registered")
    fresh_orphan = store.put_bytes(store.new_key("checkpoints", ".safetensors"), b"written a moment ago")
    stale_cache = store.put_bytes("cache/log-z/deadbeef/abc.json", b"{}")
    every = [p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()]
    for key in every:
        if key != fresh_orphan:
            _age(store, key, 3600)
    with ctx.db.session() as session:
        dry = sweep_orphans(session, store, grace_seconds=60, dry_run=True)
        assert dry.removed == 3 and all(store.exists(k) for k in every)
        done = sweep_orphans(session, store, grace_seconds=60)
    assert done.removed == 3
    assert not store.exists(orphan_ckpt) and not store.exists(orphan_weights) and not store.exists(stale_cache)
    assert store.exists(fresh_orphan)
    # everything a row points at survives, and the service still answers from it
    with ctx.db.session() as session:
        assert session.get(Job, job["id"]).checkpoint_key is None
    assert client.get(f"/v1/models/{model['id']}/weights").status_code == 200
    assert client.post(f"/v1/models/{model['id']}/partition-function", json={"method": "exact"}).json()["cached"]
    assert client.post("/v1/models/{}/free-energy".format(model["id"]), json={"data": [[0] * 64]}).status_code == 200
    assert client.get(f"/v1/datasets/{upload['id']}").status_code == 200
    with ctx.db.session() as session:
        assert store.get_array(session.get(Dataset, upload["id"]).train_key).shape == (4, 4)
