"""Live job progress as Server-Sent Events, read from the ``job_events`` table.

Why poll the database: the worker that writes the events is another process (often another
machine), so the table is the one place every API process can watch. Each event carries
``id: <seq>``, so a client that reconnects with ``Last-Event-ID`` resumes exactly where it left
off; without it the stream starts at the first event, so a late subscriber sees the whole history.
The stream ends after the event that makes the job final (succeeded, failed, cancelled).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from app.auth.tenancy import shows_internals
from app.core.context import ServiceContext
from app.core.deps import ContextDep
from app.core.errors import InvalidRequest
from app.db.states import FINAL
from app.db.tables import Job
from app.jobs.events import events_after
from app.jobs.service import get_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

RETRY_MS = 2000  # what browsers wait before reconnecting after a dropped stream

SSE_EXAMPLE = ("retry: 2000\n\n"
               "id: 1\nevent: status\ndata: {\"status\": \"running\", \"owner\": \"host:123\"}\n\n"
               "id: 2\nevent: progress\ndata: {\"epoch\": 1, \"epochs\": 20, \"reconstruction_error\": 0.061}\n\n"
               ": heartbeat\n\n"
               "id: 22\nevent: status\ndata: {\"status\": \"succeeded\", \"model_id\": \"4f1c...\"}\n\n")


def format_event(seq: int, kind: str, data: dict[str, Any]) -> str:
    """One SSE frame; JSON has no raw newlines, so ``data`` is a single line."""
    return f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def parse_last_event_id(value: str | None) -> int:
    if value is None or not value.strip():
        return 0
    try:
        seq = int(value.strip())
    except ValueError:
        raise InvalidRequest(f"Last-Event-ID must be an event id (an integer), got {value!r}") from None
    if seq < 0:
        raise InvalidRequest(f"Last-Event-ID must be >= 0, got {seq}")
    return seq


def _poll(ctx: ServiceContext, job_id: str, after: int) -> tuple[list[str], int, bool]:
    """New frames after ``after``, the last seq sent, and whether the stream is complete. The job's
    status is read before its events: a final status is committed together with its event, so a
    final status seen first means every event is already visible."""
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:  # deleted while streaming: nothing more will come
            return [], after, True
        final, epochs = job.status in FINAL, job.epochs
        frames = []
        internals = shows_internals()  # the worker's host:pid is for admin keys only
        for event in events_after(session, job_id, after):
            data = dict(event.data or {})
            if not internals:
                data.pop("owner", None)
            if event.kind == "progress":
                data.setdefault("epochs", epochs)
            frames.append(format_event(event.seq, event.kind, data))
            after = event.seq
            if event.kind == "status" and data.get("status") in FINAL:
                return frames, after, True
    return frames, after, final


async def event_frames(ctx: ServiceContext, job_id: str, after: int) -> AsyncIterator[str]:
    """Frames until the job is final; a heartbeat comment whenever the stream has been quiet."""
    poll, heartbeat = ctx.settings.sse_poll_seconds, ctx.settings.sse_heartbeat_seconds
    yield f"retry: {RETRY_MS}\n\n"
    last_sent = time.monotonic()
    while True:
        frames, after, done = await anyio.to_thread.run_sync(_poll, ctx, job_id, after)
        for frame in frames:
            yield frame
        now = time.monotonic()
        if frames:
            last_sent = now
        if done:
            return
        if now - last_sent >= heartbeat:
            yield ": heartbeat\n\n"
            last_sent = now
        await anyio.sleep(poll)


@router.get("/{job_id}/events", response_class=StreamingResponse,
            summary="Live progress and status changes (Server-Sent Events), resumable with Last-Event-ID",
            responses={200: {"description": "An event stream, closed after the job's final status event.",
                             "content": {"text/event-stream": {"example": SSE_EXAMPLE}}}})
def job_events(job_id: str, ctx: ContextDep,
               last_event_id: Annotated[str | None, Header(description="Resume after this event id "
                                                           "(browsers send it when they reconnect).")] = None,
               ) -> StreamingResponse:
    """Events of the job in order: `status` (running, cancelling, succeeded, failed, cancelled,
    queued again after a worker stopped) and `progress` (one per epoch: `epoch`, `epochs` and
    that epoch's metrics). Every event since the start is sent unless `Last-Event-ID` says
    otherwise. Comments (`: heartbeat`) keep idle connections open through proxies."""
    after = parse_last_event_id(last_event_id)
    with ctx.db.session() as session:
        get_job(session, job_id)  # a 404 before the stream starts, not inside it
    return StreamingResponse(event_frames(ctx, job_id, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
