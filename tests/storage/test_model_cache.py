"""The API's model LRU is bounded by count and by bytes of tensors."""

from __future__ import annotations

import torch

from app.storage.model_cache import ModelCache, model_bytes
from app.rbm.io import to_safetensors_bytes
from app.rbm.model import BernoulliRBM
from app.storage.artifacts import ArtifactStore


def _store_models(store: ArtifactStore, sizes: list[tuple[int, int]]) -> list[str]:
    keys = []
    for i, (v, h) in enumerate(sizes):
        m = BernoulliRBM.init_random(v, h, generator=torch.Generator().manual_seed(i))
        keys.append(store.put_bytes(store.new_key("models", ".safetensors"), to_safetensors_bytes(m, {})))
    return keys


def test_byte_bound_evicts_least_recently_used(tmp_path):
    store = ArtifactStore(tmp_path)
    keys = _store_models(store, [(100, 50)] * 4)
    one = 4 * (100 * 50 + 100 + 50)
    cache = ModelCache(store, capacity=16, device="cpu", max_bytes=3 * one)
    first = cache.get(keys[0])
    assert model_bytes(first) == one
    for k in keys[1:3]:
        cache.get(k)
    assert cache.get(keys[0]) is first  # a hit refreshes it: keys[1] is now the oldest
    cache.get(keys[3])
    assert len(cache) == 3 and cache.nbytes == 3 * one
    assert cache.get(keys[0]) is first  # still held
    assert keys[1] not in cache._entries


def test_count_bound_and_an_oversized_model_still_loads(tmp_path):
    store = ArtifactStore(tmp_path)
    small, big = _store_models(store, [(10, 5), (200, 100)])
    cache = ModelCache(store, capacity=1, device="cpu", max_bytes=1_000)
    cache.get(small)
    model = cache.get(big)  # 80 kB against a 1 kB bound: served, and the only entry left
    assert model.n_visible == 200 and len(cache) == 1 and cache.nbytes == model_bytes(model)
    cache.forget(big)
    assert len(cache) == 0 and cache.nbytes == 0


def test_concurrent_first_requests_share_one_load(tmp_path):
    import threading
    import time

    store = ArtifactStore(tmp_path)
    (key,) = _store_models(store, [(64, 32)])
    loads = []
    real = store.get_bytes

    def slow_get_bytes(k):
        loads.append(k)
        time.sleep(0.2)  # a big model: every caller arrives while the first load runs
        return real(k)

    store.get_bytes = slow_get_bytes
    cache = ModelCache(store, capacity=4, device="cpu")
    got, barrier = [], threading.Barrier(8)

    def request():
        barrier.wait()
        got.append(cache.get(key))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [key] and len(got) == 8 and all(m is got[0] for m in got)
