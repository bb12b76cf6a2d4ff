"""Names and tags on datasets, jobs, models and sweeps: what a tag may be, how a list is filtered by
them. Tags are a flat JSON object of short strings ({"team": "vision"}), stored in the row's
``tags`` JSON column and filtered in SQL (json_extract on SQLite, ->> on PostgreSQL)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, Field
from sqlalchemy import Select

from app.core.errors import InvalidRequest

MAX_TAGS = 32
MAX_KEY = 64
MAX_VALUE = 200


def check_tags(tags: dict[str, str] | None) -> dict[str, str] | None:
    """Keys are 1..64 characters without ':', values at most 200; at most 32 tags."""
    if tags is None:
        return None
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(tags)}")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY or ":" in key:
            raise ValueError(f"tag key {key!r} must be 1..{MAX_KEY} characters without ':'")
        if len(value) > MAX_VALUE:
            raise ValueError(f"tag {key!r}: value longer than {MAX_VALUE} characters")
    return tags


Tags = Annotated[dict[str, str] | None, AfterValidator(check_tags),
                 Field(description='Free-form labels, a JSON object of strings: {"team": "vision"}. '
                       "List routes filter by them with ?tag=key:value.", examples=[{"team": "vision"}])]


def parse_tags_form(text: str | None) -> dict[str, str] | None:
    """Tags from a multipart form field: a JSON object ('{"team": "vision"}') or key:value pairs
    separated by commas ('team:vision,run:3')."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if text.startswith("{"):
            tags = json.loads(text)
            if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
                raise ValueError("a JSON object of strings")
        else:
            tags = dict(_pair(item) for item in text.split(","))
        return check_tags(tags)
    except ValueError as exc:
        raise InvalidRequest(f"tags must be a JSON object of strings or key:value pairs separated by commas, "
                             f"like 'team:vision,run:3' ({exc})") from None


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.strip().partition(":")
    if not sep or not key:
        raise ValueError(f"{item!r} is not key:value")
    return key, value


TagQuery = Annotated[list[str] | None, Query(
    alias="tag", description="key:value; repeat for several (all must match).", examples=["team:vision"])]
NameQuery = Annotated[str | None, Query(alias="name", max_length=200, description="Exact name.")]


def parse_tag_filters(filters: list[str] | None) -> list[tuple[str, str]]:
    try:
        return [_pair(f) for f in filters or []]
    except ValueError as exc:
        raise InvalidRequest(f"tag filter must be key:value, like ?tag=team:vision ({exc})") from None


def where_tags(stmt: Select[Any], table: Any, filters: list[str] | None) -> Select[Any]:
    """Rows whose tags contain every key:value of ``filters``."""
    for key, value in parse_tag_filters(filters):
        stmt = stmt.where(table.tags[key].as_string() == value)
    return stmt


def where_equal(stmt: Select[Any], **columns: tuple[Any, Any]) -> Select[Any]:
    """``stmt`` restricted to column == value for each (column, value) whose value is not None."""
    for column, value in columns.values():
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt
