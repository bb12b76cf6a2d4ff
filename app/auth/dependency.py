"""The one dependency that authenticates and authorises every /v1 request (added per router in
``app.main``). Auth is on once any API key exists or RBM_REQUIRE_AUTH is set; before that the
server is in open mode (``serve`` allows that only on a loopback address, see ``app.auth.mode``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.keys import any_key_exists, find_active
from app.auth.scopes import allows, required_scope
from app.auth.tenancy import OPEN_TENANT, Principal, set_principal
from app.core.context import ServiceContext
from app.core.deps import ContextDep
from app.core.errors import Forbidden, Unauthorized

# Declares the scheme in OpenAPI (the "Authorize" button in /docs); the header is parsed below.
_bearer_scheme = HTTPBearer(auto_error=False, description="An API key from `rbm-service keys create`.")

_KEYS_SEEN: set[str] = set()  # database URLs known to hold a key: keys are never deleted, only revoked


OPEN = Principal(None, frozenset({"admin"}), OPEN_TENANT)


def auth_enabled(session: Session, url: str, require_auth: bool) -> bool:
    if require_auth or url in _KEYS_SEEN:
        return True
    if any_key_exists(session):
        _KEYS_SEEN.add(url)
        return True
    return False


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    return token.strip()


async def authorize(request: Request, ctx: ContextDep,
                    _scheme: Annotated[object, Depends(_bearer_scheme)]) -> Principal:
    """Resolve the caller and check the scope the route needs; 401 without a valid key, 403 when
    the key lacks the scope. A presented key is always checked, even in open mode. Async, so the
    principal it sets (``app.auth.tenancy``) lives in the request's own context."""
    principal = await run_in_threadpool(_resolve, request, ctx)
    set_principal(principal)
    return principal


def _resolve(request: Request, ctx: ServiceContext) -> Principal:
    route = request.scope.get("route")
    needed = required_scope(request.method, getattr(route, "path", request.url.path))
    token = _bearer_token(request)
    with ctx.db.session() as session:
        if token is not None:
            row = find_active(session, token)
            if row is None:
                raise Unauthorized("API key not recognised or revoked")
            principal = Principal(row.id, frozenset(row.scopes), row.tenant or row.id)
        elif auth_enabled(session, ctx.db.url, ctx.settings.require_auth):
            raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>' "
                               "(an operator creates one with `rbm-service keys create --scope ...`)")
        else:
            principal = OPEN
    if not allows(principal.scopes, needed):
        raise Forbidden(f"this API key has scope(s) {', '.join(sorted(principal.scopes))}; "
                        f"{request.method} {getattr(route, 'path', request.url.path)} needs scope '{needed}'")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]
