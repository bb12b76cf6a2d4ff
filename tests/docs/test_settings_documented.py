"""Every setting an operator can change is in README's Configuration table, under its env name."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_has_a_row_in_the_configuration_table():
    named = set()
    for line in README.read_text().splitlines():
        if line.startswith("| `RBM_"):
            named |= set(re.findall(r"`(RBM_[A-Z0-9_]+)`", line.split("|")[1]))
    missing = [f"RBM_{name.upper()}" for name in Settings.model_fields if f"RBM_{name.upper()}" not in named]
    assert not missing, f"settings without a row in README's Configuration table: {missing}"
