"""GET /v1/jobs/{id}/events: Server-Sent Events from the job_events table."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.api.helpers import digits_dataset, error_of, ok


def frames(text: str) -> list[dict]:
    """Parse a whole SSE body into [{"id", "event", "data"} | {"comment"} | {"retry"}]."""
    out = []
    for block in text.strip().split("\n\n"):
        fields: dict = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                fields["comment"] = line[1:].strip()
            else:
                name, _, value = line.partition(": ")
                fields[name] = json.loads(value) if name == "data" else value
        out.append(fields)
    return out


def events(text: str) -> list[dict]:
    return [f for f in frames(text) if "event" in f]


@pytest.fixture
def submit(client):
    dataset = digits_dataset(client)

    def _submit(epochs: int = 3) -> dict:
        return ok(client.post("/v1/jobs", json={"dataset_id": dataset["id"], "model": {"n_hidden": 8},
                                                "training": {"epochs": epochs, "seed": 1}}), 202)
    return _submit


def test_finished_job_streams_its_whole_history_then_closes(client, worker, submit):
    job = submit(epochs=3)
    worker.run_until_idle()
    response = client.get(f"/v1/jobs/{job['id']}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert frames(response.text)[0] == {"retry": "2000"}
    got = events(response.text)
    assert [e["id"] for e in got] == [str(i) for i in range(1, 6)]
    assert [e["event"] for e in got] == ["status", "progress", "progress", "progress", "status"]
    assert got[0]["data"]["status"] == "running"
    assert [(e["data"]["epoch"], e["data"]["epochs"]) for e in got[1:4]] == [(1, 3), (2, 3), (3, 3)]
    assert "reconstruction_error" in got[1]["data"]
    final = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert got[-1]["data"] == {"status": "succeeded", "model_id": final["model_id"]}


def test_last_event_id_resumes_after_that_event(client, worker, submit):
    job = submit(epochs=3)
    worker.run_until_idle()
    got = events(client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "3"}).text)
    assert [e["id"] for e in got] == ["4", "5"]
    # resuming after the final event: nothing left, the stream closes at once
    assert events(client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "5"}).text) == []


def test_bad_requests_are_json_errors_before_the_stream(client, submit):
    job = submit()
    assert "Last-Event-ID" in error_of(client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "x"}), 422)
    error_of(client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "-1"}), 422)
    error_of(client.get("/v1/jobs/nope/events"), 404)


def test_live_subscriber_polls_until_the_job_ends_with_heartbeats(client, worker, submit, settings):
    settings.sse_poll_seconds, settings.sse_heartbeat_seconds = 0.02, 0.05
    job = submit(epochs=2)

    def train_later() -> None:
        time.sleep(0.4)  # the stream is open and idle before the first event exists
        worker.run_until_idle()

    thread = threading.Thread(target=train_later)
    thread.start()
    started = time.monotonic()
    text = client.get(f"/v1/jobs/{job['id']}/events").text
    thread.join()
    assert time.monotonic() - started >= 0.4
    assert any(f.get("comment") == "heartbeat" for f in frames(text))
    got = events(text)
    assert [e["event"] for e in got] == ["status", "progress", "progress", "status"]
    assert got[-1]["data"]["status"] == "succeeded"


def test_cancelled_queued_job_stream_ends_with_cancelled(client, submit):
    job = submit()
    ok(client.post(f"/v1/jobs/{job['id']}/cancel"))
    got = events(client.get(f"/v1/jobs/{job['id']}/events").text)
    assert [(e["event"], e["data"]["status"]) for e in got] == [("status", "cancelled")]
