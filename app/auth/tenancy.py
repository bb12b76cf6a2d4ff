"""Tenants: every dataset, job, model and sweep belongs to the tenant of the API key that created
it; a key sees and touches only its tenant's objects (others are a 404, absent from lists); an
``admin`` key sees everything. Open mode is one tenant, ``default``.

One rule, enforced in one place: the request's principal is held in a context variable (set by
``authorize``), and a session hook adds ``tenant = <the caller's>`` to every ORM statement that
reads, updates or deletes an owned table, and stamps new owned rows with the caller's tenant.
Services and routes need no tenant code; the worker and the CLI (no principal) see everything."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.db.tables import Dataset, Job, Model, Sweep

#: The tables whose rows belong to a tenant.
OWNED: tuple[type, ...] = (Dataset, Job, Model, Sweep)
OPEN_TENANT = "default"


@dataclass(frozen=True)
class Principal:
    key_id: str | None  # None in open mode
    scopes: frozenset[str]
    tenant: str = OPEN_TENANT

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes


_current: ContextVar[Principal | None] = ContextVar("rbm_principal", default=None)


def set_principal(principal: Principal | None) -> None:
    """Called by ``authorize`` in the request's own task: every later step of the request (sync
    routes and dependencies run in threads with a copy of this context) sees it."""
    _current.set(principal)


def current_principal() -> Principal | None:
    return _current.get()


def visible_to(principal: Principal | None, table: Any) -> Any:
    """The SQL condition for rows of ``table`` that ``principal`` may see: the one rule."""
    if principal is None or principal.is_admin or table not in OWNED:
        return true()
    return table.tenant == principal.tenant


def shows_internals(principal: Principal | None = None) -> bool:
    """Worker host names and pids (in job events) are for operators: admin keys, the CLI."""
    principal = principal if principal is not None else current_principal()
    return principal is None or principal.is_admin


@event.listens_for(Session, "do_orm_execute")
def _only_the_callers_rows(state: ORMExecuteState) -> None:
    principal = _current.get()
    if principal is None or principal.is_admin or not (state.is_select or state.is_update or state.is_delete):
        return
    for table in OWNED:
        state.statement = state.statement.options(
            with_loader_criteria(table, visible_to(principal, table), include_aliases=True))


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _flush_context: Any, _instances: Any) -> None:
    principal = _current.get()
    if principal is None:
        return
    for obj in session.new:
        if isinstance(obj, OWNED) and getattr(obj, "tenant", None) is None:
            obj.tenant = principal.tenant
