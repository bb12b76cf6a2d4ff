"""API keys: open mode until a key exists, 401 without a valid key, 403 without the scope, the
route -> scope rule for every route, and the CLI that manages keys."""

from __future__ import annotations

import re

import pytest

from app.auth.dependency import auth_enabled
from app.auth.keys import create_key, hash_key, revoke_key
from app.auth.mode import open_mode_check
from app.auth.scopes import required_scope
from app.cli import main as cli_main
from app.core.settings import get_settings
from app.db.tables import ApiKey
from tests.api.helpers import digits_dataset, error_of, ok

MISSING = "0" * 32

# (method, path, scope it needs): one request per route of the API
ROUTES = [
    ("get", "/v1/datasets", "read"), ("get", f"/v1/datasets/{MISSING}", "read"),
    ("get", "/v1/datasets/builtins", "read"), ("post", "/v1/datasets/builtin", "train"),
    ("post", "/v1/datasets", "train"), ("delete", f"/v1/datasets/{MISSING}", "admin"),
    ("get", "/v1/jobs", "read"), ("get", f"/v1/jobs/{MISSING}", "read"), ("post", "/v1/jobs", "train"),
    ("post", f"/v1/jobs/{MISSING}/cancel", "train"),
    ("get", "/v1/models", "read"), ("get", f"/v1/models/{MISSING}", "read"), ("post", "/v1/models", "train"),
    ("get", f"/v1/models/{MISSING}/weights", "read"), ("delete", f"/v1/models/{MISSING}", "admin"),
    ("post", f"/v1/models/{MISSING}/free-energy", "infer"), ("post", f"/v1/models/{MISSING}/samples", "infer"),
    ("post", f"/v1/models/{MISSING}/hidden", "infer"), ("post", f"/v1/models/{MISSING}/reconstruct", "infer"),
    ("post", f"/v1/models/{MISSING}/partition-function", "infer"),
    ("post", f"/v1/models/{MISSING}/log-likelihood", "infer"),
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(ctx) -> dict[str, str]:
    """One key per scope, plus a revoked one."""
    with ctx.db.session() as s:
        out = {scope: create_key(s, [scope], name=scope)[1] for scope in ("read", "infer", "train", "admin")}
        row, out["revoked"] = create_key(s, ["admin"])
        revoke_key(s, row.id)
    return out


def test_open_mode_without_keys(client, ctx):
    assert not auth_enabled_now(ctx)
    ok(client.get("/v1/datasets"))
    digits_dataset(client)


def auth_enabled_now(ctx) -> bool:
    with ctx.db.session() as s:
        return auth_enabled(s, ctx.db.url, ctx.settings.require_auth)


def test_keys_are_stored_hashed_only(ctx, keys):
    with ctx.db.session() as s:
        rows = s.query(ApiKey).all()
    stored = {r.key_hash for r in rows}
    assert all(hash_key(k) in stored for k in keys.values())
    for row in rows:
        assert all(k not in (row.key_hash, row.prefix, str(row.scopes)) for k in keys.values())


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json"])
def test_probes_and_docs_stay_open(client, keys, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("headers,reason", [
    ({}, "API key is required"), (bearer("rbm_not-a-key"), "not recognised"),
    ({"Authorization": "Basic dXNlcjpwdw=="}, "Bearer"), ({"Authorization": "Bearer "}, "Bearer"),
])
def test_missing_or_bad_key_is_401(client, keys, headers, reason):
    r = client.get("/v1/datasets", headers=headers)
    assert reason in error_of(r, 401)
    assert r.json()["error"]["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_revoked_key_is_401(client, keys):
    assert "revoked" in error_of(client.get("/v1/datasets", headers=bearer(keys["revoked"])), 401)


def test_presented_key_is_checked_even_in_open_mode(client):
    error_of(client.get("/v1/datasets", headers=bearer("rbm_unknown")), 401)


def test_require_auth_without_any_key(client, ctx):
    ctx.settings.require_auth = True
    error_of(client.get("/v1/jobs"), 401)


@pytest.mark.parametrize("method,path,needed", ROUTES)
def test_every_route_needs_its_scope(client, keys, method, path, needed):
    for scope in ("read", "infer", "train"):
        r = getattr(client, method)(path, headers=bearer(keys[scope]))
        if scope == needed:
            assert r.status_code not in (401, 403), r.text
        else:
            msg = error_of(r, 403)
            assert f"needs scope '{needed}'" in msg and r.json()["error"]["code"] == "forbidden"
    assert getattr(client, method)(path, headers=bearer(keys["admin"])).status_code not in (401, 403)


def test_routes_added_later_are_enforced_too(client, keys):
    """Every /v1 operation in the OpenAPI spec (including ones other packages add later) refuses a
    key without the scope that app.auth.scopes derives for it, and admits one with it."""
    spec = client.get("/openapi.json").json()["paths"]
    checked = 0
    for path, ops in spec.items():
        if not path.startswith("/v1/"):
            continue
        concrete = re.sub(r"\{[^}]+\}", MISSING, path)
        for method in ops:
            needed = required_scope(method, path)
            wrong = next(s for s in ("read", "infer", "train") if s != needed)
            error_of(getattr(client, method)(concrete, headers=bearer(keys[wrong])), 403)
            if needed != "admin":
                assert getattr(client, method)(concrete, headers=bearer(keys[needed])).status_code not in (401, 403)
            checked += 1
    assert checked >= len(ROUTES)


@pytest.mark.parametrize("method,route,scope", [
    ("GET", "/v1/models/{model_id}/image.png", "infer"), ("POST", "/v1/models/{model_id}/new-query", "infer"),
    ("PUT", "/v1/jobs/{job_id}", "admin"), ("PATCH", "/v1/models/{model_id}", "train"), ("HEAD", "/v1/jobs", "read"),
])
def test_scope_rule_for_routes_not_yet_written(method, route, scope):
    assert required_scope(method, route) == scope


@pytest.mark.parametrize("host,keys_exist,require,allow,starts,says", [
    ("127.0.0.1", False, False, False, True, "OPEN MODE"), ("localhost", False, False, False, True, "OPEN MODE"),
    ("::1", False, False, False, True, "OPEN MODE"), ("127.0.0.2", False, False, False, True, "OPEN MODE"),
    ("0.0.0.0", False, False, False, False, "RBM_ALLOW_OPEN"), ("10.1.2.3", False, False, False, False, "refusing"),
    ("0.0.0.0", False, False, True, True, "RBM_ALLOW_OPEN=true"), ("0.0.0.0", True, False, False, True, None),
    ("0.0.0.0", False, True, False, True, None),
])
def test_open_mode_rule(host, keys_exist, require, allow, starts, says):
    may, message = open_mode_check(host, keys_exist, require, allow)
    assert may is starts
    assert (message is None) if says is None else (says in message)


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("RBM_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("RBM_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_create_list_revoke(cli_env, capsys, client):
    assert cli_main(["keys", "create", "--scope", "read", "--scope", "train", "--name", "ci"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("rbm_") and len(key) > 40
    ok(client.get("/v1/jobs", headers=bearer(key)))
    error_of(client.delete(f"/v1/models/{MISSING}", headers=bearer(key)), 403)
    assert cli_main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "read,train" in listing and "ci" in listing and "active" in listing and key not in listing
    key_id = next(line.split()[0] for line in listing.splitlines() if " ci" in line)
    assert cli_main(["keys", "revoke", key_id]) == 0
    error_of(client.get("/v1/jobs", headers=bearer(key)), 401)
    assert "revoked" in (cli_main(["keys", "list"]) or capsys.readouterr().out)
    assert cli_main(["keys", "revoke", MISSING]) == 2


def test_serve_refuses_a_public_address_without_keys(cli_env, caplog):
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "RBM_ALLOW_OPEN" in caplog.text
