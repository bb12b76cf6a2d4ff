"""Issue 15 item 10: a web page the user visits cannot drive a local open-mode service: a foreign
Host header (DNS rebinding) is refused, and so is a cross-origin write (CORS closed by default);
both configurable (RBM_ALLOWED_HOSTS, RBM_CORS_ORIGINS)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app
from tests.api.helpers import error_of, ok


def test_foreign_host_header_is_refused(client):
    assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/v1/datasets", headers={"host": "evil.example:8000"}).status_code == 400
    ok(client.get("/v1/datasets", headers={"host": "127.0.0.1:8000"}))
    ok(client.get("/v1/datasets", headers={"host": "localhost"}))


def test_cross_origin_upload_is_refused_and_same_origin_passes(client):
    files = {"file": ("x.csv", b"0,1\n1,0\n")}
    message = error_of(client.post("/v1/datasets", files=files, headers={"origin": "https://evil.example"}), 403)
    assert "RBM_CORS_ORIGINS" in message and "evil.example" in message
    assert ok(client.get("/v1/datasets"))["items"] == [], "the refused upload must not have been stored"
    ok(client.post("/v1/datasets", files=files, headers={"origin": "http://testserver"}), 201)  # the dashboard
    ok(client.post("/v1/datasets", files=files), 201)  # curl, the Python client: no Origin
    # reads from another origin still get no CORS headers, so the browser hides the answer
    r = client.get("/v1/datasets", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_configured_hosts_and_origins(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("RBM_ALLOWED_HOSTS", "rbm.internal,testserver")
    monkeypatch.setenv("RBM_CORS_ORIGINS", "https://app.example")
    settings = Settings(data_dir=tmp_path, database_url=ctx.settings.database_url)
    assert settings.allowed_hosts == ["rbm.internal", "testserver"]
    with TestClient(create_app(settings=settings, context=ctx)) as c:
        ok(c.get("/healthz", headers={"host": "rbm.internal"}))
        assert c.get("/healthz", headers={"host": "localhost"}).status_code == 400
        r = c.post("/v1/datasets", files={"file": ("x.csv", b"0,1\n")}, headers={"origin": "https://app.example"})
        assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "https://app.example"
        assert c.post("/v1/datasets", files={"file": ("x.csv", b"0,1\n")},
                      headers={"origin": "https://evil.example"}).status_code == 403
