"""`rbm-service keys create | list | revoke`: API keys are managed from the command line only (an
operator's act), never over HTTP."""

from __future__ import annotations

import argparse
import sys

from app.auth.keys import SCOPES, create_key, list_keys, revoke_key
from app.core.errors import ServiceError


def _session():
    from app.core.settings import get_settings
    from app.db import migrate
    from app.db.session import Database

    url = get_settings().resolved_database_url
    migrate.ensure_sqlite_dir(url)
    migrate.upgrade(url)
    return Database(url)


def cmd_keys(args: argparse.Namespace) -> int:
    db = _session()
    try:
        with db.session() as session:
            if args.keys_command == "create":
                row, key = create_key(session, args.scope, args.name, args.tenant)
                print(key)  # stdout: the key alone, so `KEY=$(rbm-service keys create ...)` works
                print(f"created key {row.id} ({row.prefix}...) scopes={','.join(row.scopes)} tenant={row.tenant}; "
                      "store it now: it is not shown again", file=sys.stderr)
            elif args.keys_command == "list":
                print(f"{'id':32}  {'prefix':12}  {'scopes':24}  {'created':20}  {'status':8}  name")
                for row in list_keys(session):
                    status = "revoked" if row.revoked_at else "active"
                    print(f"{row.id:32}  {row.prefix:12}  {','.join(row.scopes):24}  "
                          f"{row.created_at:%Y-%m-%dT%H:%M:%SZ}  {status:8}  {row.name or ''}")
            else:
                row = revoke_key(session, args.key_id)
                print(f"revoked key {row.id} ({row.prefix}...)", file=sys.stderr)
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


def add_keys_parser(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES,
                        help="repeat for several; admin implies all")
    create.add_argument("--name", default=None)
    create.add_argument("--tenant", default=None, help="keys of one tenant share datasets, jobs and models; "
                        "default: the key is a tenant of its own")
    keys_sub.add_parser("list", help="every key (never the key itself)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)


def keys_exist(url: str) -> bool:
    """Whether any key (revoked included) is stored: `serve` decides on open mode with it."""
    from app.auth.keys import any_key_exists
    from app.db.session import Database

    db = Database(url)
    try:
        with db.session() as session:
            return any_key_exists(session)
    finally:
        db.dispose()
