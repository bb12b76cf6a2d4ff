"""Free energy from JSON, raw float32 and .npy bodies gives the same numbers; concurrent queries
are micro-batched without mixing up answers; bad binary bodies are 422."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import torch
from safetensors.numpy import save as save_numpy

from app.inference.batching import FreeEnergyBatcher
from app.rbm.model import BernoulliRBM
from tests.api.helpers import error_of, ok


def _model(client) -> tuple[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    t = {"weight": rng.normal(0, 0.3, (6, 4)), "visible_bias": rng.normal(0, 0.5, 6), "hidden_bias": rng.normal(0, 0.5, 4)}
    t = {k: np.ascontiguousarray(x, dtype=np.float32) for k, x in t.items()}
    blob = save_numpy(t, metadata={"visible_type": "bernoulli"})
    return ok(client.post("/v1/models", files={"file": ("m.safetensors", blob)}), 201)["id"], t


def _expected(t: dict[str, np.ndarray], v: np.ndarray) -> np.ndarray:
    v64 = v.astype(np.float64)
    return -v64 @ t["visible_bias"] - np.logaddexp(0.0, v64 @ t["weight"] + t["hidden_bias"]).sum(axis=1)


def test_three_encodings_agree(client):
    model_id, t = _model(client)
    url = f"/v1/models/{model_id}/free-energy"
    v = (np.random.default_rng(1).random((5, 6)) < 0.5).astype(np.float32)
    want = _expected(t, v)
    got_json = ok(client.post(url, json={"data": v.tolist()}))["free_energy"]
    got_raw = ok(client.post(url, content=v.tobytes(), headers={"content-type": "application/octet-stream",
                                                                 "x-shape": "5,6"}))["free_energy"]
    got_q = ok(client.post(url, params={"rows": 5}, content=v.tobytes(),
                           headers={"content-type": "application/octet-stream"}))["free_energy"]
    buf = io.BytesIO()
    np.save(buf, v)
    got_npy = ok(client.post(url, content=buf.getvalue(), headers={"content-type": "application/x-npy"}))["free_energy"]
    for got in (got_json, got_raw, got_q, got_npy):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_bad_binary_bodies_are_422(client):
    model_id, _ = _model(client)
    url = f"/v1/models/{model_id}/free-energy"
    octets = {"content-type": "application/octet-stream"}
    error_of(client.post(url, content=np.zeros(12, np.float32).tobytes(), headers=octets), 422)  # no row count
    error_of(client.post(url, content=np.zeros(12, np.float32).tobytes(), headers={**octets, "x-shape": "5"}), 422)
    assert "6" in error_of(client.post(url, content=np.zeros(10, np.float32).tobytes(),
                                       headers={**octets, "x-shape": "2,5"}), 422)  # wrong width
    error_of(client.post(url, content=b"\x00" * 7, headers={**octets, "x-shape": "1"}), 422)
    error_of(client.post(url, content=b"not npy", headers={"content-type": "application/x-npy"}), 422)
    error_of(client.post(url, json={"data": [[0] * 6], "extra": 1}), 422)
    error_of(client.post(url, content=b"x", headers={"content-type": "text/plain"}), 422)


def test_micro_batcher_returns_each_request_its_own_rows():
    g = torch.Generator().manual_seed(0)
    m = BernoulliRBM.init_random(8, 5, generator=g)
    xs = [(torch.rand(n, 8, generator=g) < 0.5).float() for n in (1, 3, 2, 7, 1, 4)]

    async def go() -> list[np.ndarray]:
        batcher = FreeEnergyBatcher(max_rows=10, max_wait=0.05)
        try:
            return await asyncio.gather(*(batcher.free_energy("k", m, x) for x in xs))
        finally:
            assert batcher.batches < len(xs)  # some requests shared a product
            batcher.close()

    for x, got in zip(xs, asyncio.run(go())):
        np.testing.assert_allclose(got, m.free_energy(x).double().numpy(), rtol=1e-6)


def test_queries_arriving_during_a_product_share_the_next_one(monkeypatch):
    """Under load the batcher must not flush a small batch every max_wait behind the running
    product: everything that arrives while it computes goes into one next product."""
    import time

    from app.inference import batching

    real = batching._free_energy

    def slow(model, parts):
        time.sleep(0.2)
        return real(model, parts)

    monkeypatch.setattr(batching, "_free_energy", slow)
    m = BernoulliRBM.init_random(8, 5, generator=torch.Generator().manual_seed(0))
    xs = [(torch.rand(1, 8, generator=torch.Generator().manual_seed(i)) < 0.5).float() for i in range(6)]

    async def go() -> list[np.ndarray]:
        batcher = FreeEnergyBatcher(max_rows=100, max_wait=0.005)
        try:
            first = asyncio.create_task(batcher.free_energy("k", m, xs[0]))
            await asyncio.sleep(0.05)  # the first product is computing now
            later = []
            for x in xs[1:]:  # arrive one by one, further apart than max_wait
                later.append(asyncio.create_task(batcher.free_energy("k", m, x)))
                await asyncio.sleep(0.02)
            out = await asyncio.gather(first, *later)
            assert batcher.batches == 2 and batcher.requests == 6
            return out
        finally:
            batcher.close()

    for x, got in zip(xs, asyncio.run(go())):
        np.testing.assert_allclose(got, m.free_energy(x).double().numpy(), rtol=1e-6)
