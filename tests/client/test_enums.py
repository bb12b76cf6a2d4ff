"""The client's job states and kinds are generated from the server's OpenAPI document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_client_enums_are_the_servers_openapi_enums():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_client_enums.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "app" / "client" / "enums.py").read_text() == gen.render(), \
        "app/client/enums.py is stale: run .venv/bin/python scripts/gen_client_enums.py"


def test_final_statuses_come_from_the_state_enum():
    from app.client.enums import FINAL_STATUSES
    from app.db.states import FINAL
    assert FINAL_STATUSES == {s.value for s in FINAL}
