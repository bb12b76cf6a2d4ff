"""Imports run downward only: each package of `app` may import packages of lower layers, never
of its own layer or above. The layers are the architecture, written down once; a new package
gets a layer here. Static check over every import statement (function-level ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

#: Low to high. The math knows nothing of the web; services sit on storage and the database;
#: routers, the worker and the entry points sit on the services.
LAYERS: list[set[str]] = [
    {"rbm", "physics"},
    {"vmc", "data"},
    {"db"},
    {"storage"},
    {"core", "apidocs"},
    {"auth"},
    {"datasets"},
    {"models"},
    {"inference"},
    {"features", "wavefunctions"},
    {"jobs"},
    {"pictures", "ising", "sweeps", "metrics", "dashboard"},
    {"worker"},
    {"main"},
    {"cli"},
]
#: The client talks HTTP only: it imports nothing of the server.
ISOLATED = {"client"}


def layer_of(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"app.{package} has no layer: add it to LAYERS in {Path(__file__).name}")


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1:
                found.add(parts[1])
    return found


def package_of(path: Path) -> str:
    rel = path.relative_to(APP).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def test_imports_run_downward_only():
    upward: list[str] = []
    for path in sorted(APP.rglob("*.py")):
        package = package_of(path)
        if package == "__init__":
            continue
        for target in imported_packages(path) - {package}:
            if package in ISOLATED or target in ISOLATED:
                upward.append(f"{path.relative_to(APP.parent)} -> app.{target} (the client imports no server code)")
            elif layer_of(target) >= layer_of(package):
                upward.append(f"{path.relative_to(APP.parent)} (app.{package}, layer {layer_of(package)}) -> "
                              f"app.{target} (layer {layer_of(target)})")
    assert not upward, "imports that do not run downward:\n" + "\n".join(upward)
