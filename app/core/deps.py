"""FastAPI dependency aliases, so routes read like sentences: ``def get(session: SessionDep)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.context import ServiceContext
from app.core.settings import Settings


def get_context(request: Request) -> ServiceContext:
    return request.app.state.context


def get_session(ctx: Annotated[ServiceContext, Depends(get_context)]) -> Iterator[Session]:
    with ctx.db.session() as session:
        yield session


def get_settings_dep(ctx: Annotated[ServiceContext, Depends(get_context)]) -> Settings:
    return ctx.settings


ContextDep = Annotated[ServiceContext, Depends(get_context)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
