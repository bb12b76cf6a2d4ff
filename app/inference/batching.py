"""Micro-batching of concurrent free-energy queries to one model into one matrix product.

Small queries are memory-bound: a 1-row F(v) reads the whole ``(V, H)`` weight matrix for
``V*H`` multiply-adds, while a 256-row one does 256x the work for the same read. One compute
thread evaluates batches back to back. A query that finds it idle waits at most ``max_wait``
seconds for company; queries that arrive while a product is computing wait for that product to
finish and then go together, up to ``max_rows`` rows per model, in the next one. Each request
gets its own slice back. ``max_wait <= 0`` turns batching off.

(A fixed timer alone is not enough: under load it flushed a batch of one or two rows every
``max_wait`` behind the product that was computing, and those small products queued up one
after another: 32 clients on a 4096x4096 model got 221 queries/s batched vs 352 unbatched.)
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from app.rbm.model import RBM


@dataclass
class _Pending:
    model: RBM
    parts: list[torch.Tensor] = field(default_factory=list)
    futures: list[asyncio.Future] = field(default_factory=list)
    rows: int = 0
    timer: asyncio.TimerHandle | None = None


def _free_energy(model: RBM, parts: list[torch.Tensor]) -> np.ndarray:
    with torch.no_grad():
        x = parts[0] if len(parts) == 1 else torch.cat(parts)
        return model.free_energy(x).double().cpu().numpy()


class FreeEnergyBatcher:
    """One per API process. ``await batcher.free_energy(key, model, x)`` -> ``(n,)`` float64."""

    def __init__(self, max_rows: int, max_wait: float) -> None:
        self.max_rows = int(max_rows)
        self.max_wait = float(max_wait)
        self._pending: dict[str, _Pending] = {}
        # one compute thread: batches run back to back, and requests pile up meanwhile
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="free-energy")
        self.batches = 0
        self.requests = 0
        self._computing = 0  # products handed to the compute thread and not finished

    async def free_energy(self, key: str, model: RBM, x: torch.Tensor) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if self.max_wait <= 0 or x.shape[0] >= self.max_rows:
            self.batches += 1
            self.requests += 1
            self._computing += 1
            try:
                return await loop.run_in_executor(self._pool, _free_energy, model, [x])
            finally:
                self._product_done()
        pend = self._pending.get(key)
        if pend is not None and (pend.model is not model or pend.rows + x.shape[0] > self.max_rows):
            self._flush(key)
            pend = None
        if pend is None:
            pend = self._pending[key] = _Pending(model)
        if pend.timer is None and not self._computing:
            pend.timer = loop.call_later(self.max_wait, self._flush_if_idle, key)
        fut: asyncio.Future = loop.create_future()
        pend.parts.append(x)
        pend.futures.append(fut)
        pend.rows += x.shape[0]
        if pend.rows >= self.max_rows:
            self._flush(key)
        return await fut

    def _flush_if_idle(self, key: str) -> None:
        """The idle wait is over; if a product started meanwhile, its end flushes this batch."""
        pend = self._pending.get(key)
        if pend is not None:
            pend.timer = None
            if not self._computing:
                self._flush(key)

    def _product_done(self) -> None:
        """A product finished: when the compute thread is idle, send everything that waited."""
        self._computing -= 1
        if not self._computing:
            for key in list(self._pending):
                self._flush(key)

    def _flush(self, key: str) -> None:
        pend = self._pending.pop(key, None)
        if pend is None or not pend.futures:
            return
        if pend.timer is not None:
            pend.timer.cancel()
        self.batches += 1
        self.requests += len(pend.futures)
        self._computing += 1
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(self._pool, _free_energy, pend.model, pend.parts)
        sizes = [p.shape[0] for p in pend.parts]

        def done(t: asyncio.Future) -> None:
            self._product_done()
            exc = t.exception()
            if exc is not None:
                for f in pend.futures:
                    if not f.done():
                        f.set_exception(exc)
                return
            values, lo = t.result(), 0
            for f, n in zip(pend.futures, sizes):
                if not f.done():
                    f.set_result(values[lo:lo + n])
                lo += n

        task.add_done_callback(done)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
