"""Keyset pagination shared by every list endpoint: newest first, opaque cursor, stable under
concurrent inserts (no OFFSET)."""

from __future__ import annotations

import base64
import re
from datetime import datetime, UTC
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest

T = TypeVar("T")

MAX_PAGE_SIZE = 500
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page.")


def encode_cursor(created_at: datetime, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{ident}".encode()).decode()


_IDENT = re.compile(r"[0-9A-Za-z_-]{1,64}")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at in UTC, id) of a cursor this service issued; 422 for anything else: a naive or
    out-of-range time (year 9999 at -14:00 overflows UTC), an id no row can have, a NUL."""
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not _IDENT.fullmatch(ident):
            raise ValueError("naive time or malformed id")
        return created_at.astimezone(UTC), ident
    except Exception as exc:  # any malformed cursor is the client's error
        raise InvalidRequest("cursor is not one this service issued; use next_cursor from a list response") from exc


def paginate(session: Session, stmt: Select[Any], table: Any, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Rows of ``stmt`` (a select of ``table``) after ``cursor``, newest first."""
    if cursor:
        created_at, ident = decode_cursor(cursor)
        stmt = stmt.where(or_(table.created_at < created_at,
                              and_(table.created_at == created_at, table.id < ident)))
    rows = list(session.scalars(stmt.order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
