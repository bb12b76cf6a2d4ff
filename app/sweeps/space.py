"""The points of a search space, and setting them on a job spec. Pure functions: no database."""

from __future__ import annotations

import copy
import itertools
import math
import random
from typing import Any

from app.sweeps.schemas import RandomRange


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, in the order the options and values were given."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def grid_size(grid: dict[str, list[Any]]) -> int:
    return math.prod(len(v) for v in grid.values())


def draw(spec: RandomRange, rng: random.Random) -> Any:
    if spec.values is not None:
        return rng.choice(spec.values)
    assert spec.low is not None and spec.high is not None
    if spec.log:
        value = math.exp(rng.uniform(math.log(spec.low), math.log(spec.high)))
    else:
        value = rng.uniform(spec.low, spec.high)
    return int(round(value)) if spec.integer else value


def random_points(space: dict[str, RandomRange], count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{key: draw(spec, rng) for key, spec in space.items()} for _ in range(count)]


def with_options(base: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with each dotted path of ``point`` set (missing objects created)."""
    out = copy.deepcopy(base)
    for path, value in point.items():
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"option path {path!r}: {part!r} is not an object in the base spec")
            node = child
        node[leaf] = value
    return out
