"""AsyncRBMClient over httpx.ASGITransport: the same calls, awaited, the same answers."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from app.client import AsyncRBMClient, RBMClient, RBMError


def test_async_client_trains_streams_and_queries(client, worker):
    sync = RBMClient(http=client)

    async def scenario() -> None:
        # testserver: a host the loopback TrustedHost list allows
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app), base_url="http://testserver")
        async with AsyncRBMClient(http=http, retries=0) as rbm:
            assert (await rbm.health())["status"] == "ok"
            ds = await rbm.create_builtin("bars-and-stripes", {"n": 3})
            job = await rbm.submit_job(ds["id"], 5, epochs=2, seed=1)
            await asyncio.to_thread(worker.run_until_idle)
            kinds = [e.event async for e in rbm.events(job["id"])]
            assert kinds == ["status", "progress", "progress", "status"]
            done = await rbm.wait(job["id"])
            assert done["status"] == "succeeded"
            v = np.eye(9)[:2]
            np.testing.assert_allclose(await rbm.free_energy(done["model_id"], v), sync.free_energy(done["model_id"], v))
            samples = await rbm.samples(done["model_id"], 3, steps=4, seed=9)
            np.testing.assert_array_equal(samples.samples, sync.samples(done["model_id"], 3, steps=4, seed=9).samples)
            assert (await rbm.filters_png(done["model_id"]))[:4] == b"\x89PNG"
            assert [d["id"] for d in (await rbm.datasets())["items"]] == [ds["id"]]
            with pytest.raises(RBMError) as err:
                await rbm.model("nope")
            assert err.value.status == 404
        await http.aclose()

    asyncio.run(scenario())
