"""Issue 15 items 4, 7, 8: inputs that used to give a 500 or an unhelpful message now give a 4xx
whose message says what was wrong and, where one applies, the limit. Runs on SQLite and (the
--db-only pass) PostgreSQL, where NUL bytes in text used to reach the database."""

from __future__ import annotations

import base64
import io
import logging
import threading

import numpy as np
import pytest

from tests.api.helpers import digits_dataset, error_of, ok

LIST_ROUTES = ["/v1/datasets", "/v1/jobs", "/v1/models"]


def test_csv_one_row_of_2000_columns_is_parsed_without_preallocating(client):
    row = ",".join(["1", "0"] * 1000)
    r = client.post("/v1/datasets", files={"file": ("wide.csv", row.encode())})
    assert ok(r, 201)["n_features"] == 2000 and r.json()["n_samples"] == 1


def test_csv_over_the_feature_limit_names_the_setting(ctx, client):
    ctx.settings.max_features = 1000
    row = ",".join(["1"] * 1500)
    message = error_of(client.post("/v1/datasets", files={"file": ("wide.csv", row.encode())}), 422)
    assert "1500 columns" in message and "RBM_MAX_FEATURES" in message


def test_dataset_over_the_value_limit_names_the_setting(ctx, client):
    ctx.settings.max_dataset_values = 1000
    buf = io.BytesIO()
    np.save(buf, np.zeros((100, 20), np.float32))
    message = error_of(client.post("/v1/datasets", files={"file": ("x.npy", buf.getvalue())}), 422)
    assert "2000 values" in message and "RBM_MAX_DATASET_VALUES" in message


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("stamp", ["2026-01-01T00:00:00", "9999-12-31T23:59:59-14:00", "not a date",
                                   "0001-01-01T00:00:00+14:00"])
def test_malformed_cursor_is_422_on_every_list_route(client, route, stamp):
    cursor = base64.urlsafe_b64encode(f"{stamp}|abc".encode()).decode()
    message = error_of(client.get(route, params={"cursor": cursor}), 422)
    assert "cursor" in message and "next_cursor" in message


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_cursor_with_a_nul_byte_is_422(client, route):
    cursor = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|ab\x00c").decode()
    assert "cursor" in error_of(client.get(route, params={"cursor": cursor}), 422)


@pytest.mark.parametrize("path", ["/v1/datasets/ab%00cd", "/v1/jobs/ab%00cd", "/v1/models/ab%00cd",
                                  "/v1/models/ab%00cd/hidden"])
def test_nul_byte_in_a_path_is_422_naming_it(client, path):
    r = client.get(path) if not path.endswith("hidden") else client.post(path, json={"data": [[0]]})
    message = error_of(r, 422)
    assert "NUL" in message and "path" in message


def test_nul_byte_in_a_query_string_is_422_naming_the_parameter(client):
    message = error_of(client.get("/v1/datasets", params={"cursor": "a\x00b"}), 422)
    assert "NUL" in message and "cursor" in message


def test_nul_byte_in_a_json_name_is_422_naming_the_field(client):
    message = error_of(client.post("/v1/datasets/builtin", json={"builtin": "digits", "name": "a\x00b"}), 422)
    assert "NUL" in message and "name" in message


def _multipart(filename: bytes, content: bytes, name: bytes | None = None) -> tuple[bytes, dict]:
    """A hand-made multipart body (httpx percent-encodes odd filenames; a hostile client need not)."""
    b = b"hardeningboundary"
    parts = [b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename +
             b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content + b"\r\n"]
    if name is not None:
        parts.append(b"--" + b + b'\r\nContent-Disposition: form-data; name="name"\r\n\r\n' + name + b"\r\n")
    body = b"".join(parts) + b"--" + b + b"--\r\n"
    return body, {"content-type": "multipart/form-data; boundary=" + b.decode()}


def test_nul_byte_in_an_upload_name_and_filename_is_422(client):
    body, headers = _multipart(b"x.csv", b"0,1\n1,0\n", name=b"a\x00b")
    message = error_of(client.post("/v1/datasets", content=body, headers=headers), 422)
    assert "NUL" in message and "name" in message
    body, headers = _multipart(b"x\x00.csv", b"0,1\n1,0\n")
    message = error_of(client.post("/v1/datasets", content=body, headers=headers), 422)
    assert "NUL" in message and "filename" in message


def test_over_limit_chunked_body_is_413_naming_the_setting(ctx, client):
    ctx.settings.max_request_bytes = 1000  # read at request time by the middleware? no: fixed at app build

    def chunks():
        for _ in range(100):
            yield b" " * 1000

    # the app was built with the fixture's limit (64 MiB): build a small one here
    from fastapi.testclient import TestClient

    from app.main import create_app
    settings = ctx.settings.model_copy(update={"max_request_bytes": 1000})
    with TestClient(create_app(settings=settings, context=ctx)) as small:
        r = small.post("/v1/datasets/builtin", content=chunks(), headers={"content-type": "application/json"})
        message = error_of(r, 413)
        assert "1000 bytes" in message and "RBM_MAX_REQUEST_BYTES" in message


def test_deeply_nested_json_is_422_saying_so(client):
    body = "[" * 10_000 + "]" * 10_000
    message = error_of(client.post("/v1/datasets/builtin", content=body,
                                   headers={"content-type": "application/json"}), 422)
    assert "nested" in message


def test_truncated_json_says_where_and_what(client):
    message = error_of(client.post("/v1/datasets/builtin", content='{"builtin": "dig',
                                   headers={"content-type": "application/json"}), 422)
    assert "not valid JSON" in message and "truncated" in message


def test_a_row_of_strings_is_not_called_a_length_mismatch(client, worker):
    from tests.api.helpers import train_model
    ds = digits_dataset(client)
    model_id = train_model(client, worker, ds["id"], epochs=1)["model_id"]
    for route in ("hidden", "free-energy"):
        message = error_of(client.post(f"/v1/models/{model_id}/{route}", json={"data": [["a"] * 64]}), 422)
        assert "number" in message and "different lengths" not in message


def test_long_filename_says_what_and_the_limit(client):
    message = error_of(client.post("/v1/datasets", files={"file": ("x" * 300 + ".csv", b"0,1\n")}), 422)
    assert "filename" in message and "255" in message
    # 5,000 characters: over the multipart parser's header limit, refused before the route runs
    message = error_of(client.post("/v1/datasets", files={"file": ("x" * 5000 + ".csv", b"0,1\n")}), 400)
    assert "filename" in message and "255" in message and "Invalid multipart data" not in message


@pytest.mark.parametrize("path,ctype,first,extra", [
    ("/v1/datasets/builtin", b"application/json", b'{"builtin": ', []),
    ("/v1/datasets", b"multipart/form-data; boundary=zz",
     b'--zz\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n0,1\n', []),
    ("/v1/datasets", b"multipart/form-data; boundary=zz",
     b'--zz\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n0,1\n',
     [(b"idempotency-key", b"k1")]),
])
def test_client_disconnect_mid_body_logs_one_line(client, caplog, path, ctype, first, extra):
    import anyio

    calls = {"n": 0}

    async def receive():
        calls["n"] += 1
        if calls["n"] == 1:
            return {"type": "http.request", "body": first, "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", ctype), (b"host", b"testserver"), *extra], "http_version": "1.1",
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    with caplog.at_level(logging.INFO):
        # its own thread: a browser test earlier in the session may leave an event loop in this one
        runner = threading.Thread(target=anyio.run, args=(client.app, scope, receive, send))
        runner.start()
        runner.join(timeout=60)
        assert not runner.is_alive()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    said = [r.getMessage() for r in caplog.records if "disconnect" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("option,value", [("weight_decay", "Infinity"), ("sparsity_cost", "1e308"),
                                          ("learning_rate", "NaN"), ("momentum", "-Infinity")])
def test_non_finite_or_absurd_training_options_are_422_at_submission(client, option, value):
    ds = digits_dataset(client)
    raw = f'{{"dataset_id": "{ds["id"]}", "model": {{"n_hidden": 4}}, "training": {{"{option}": {value}}}}}'
    message = error_of(client.post("/v1/jobs", content=raw, headers={"content-type": "application/json"}), 422)
    assert option in message
    assert ok(client.get("/v1/jobs"))["items"] == [], "nothing may be queued"


@pytest.mark.slow
def test_negative_fuzzing_finds_no_server_error(ctx):
    """A modest in-suite run of schemathesis' negative cases (bench/schemathesis_run.py --negative
    runs >= 2,000 cases on both databases)."""
    from bench.schemathesis_run import fuzz_negative
    from app.main import create_app

    ran, failures = fuzz_negative(create_app(context=ctx), 4)
    assert not failures, "\n\n".join(failures)
    assert ran >= 60


def test_npz_zip_bomb_is_refused_from_the_zip_directory(ctx, client, monkeypatch):
    """A small .npz that decompresses to far more than the limit: refused before decompressing
    (np.lib.format.read_array is never reached)."""
    ctx.settings.max_dataset_values = 100_000
    buf = io.BytesIO()
    np.savez_compressed(buf, train=np.zeros((2_000, 1_000), np.float64))  # 16 MB of zeros, ~16 KB compressed
    assert len(buf.getvalue()) < 100_000

    def never(*_a, **_k):
        raise AssertionError("the member was decompressed")

    monkeypatch.setattr(np.lib.format, "read_array", never)
    message = error_of(client.post("/v1/datasets", files={"file": ("bomb.npz", buf.getvalue())}), 422)
    assert "decompresses to 16000128 bytes" in message and "RBM_MAX_DATASET_VALUES" in message
