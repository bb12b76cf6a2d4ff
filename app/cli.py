"""`rbm-service serve | worker | migrate | gc | keys`: run the API (with an embedded worker), run
more workers, apply migrations, delete orphaned artifacts, manage API keys."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger("rbm_service")


def _setup_logging() -> None:
    logging.basicConfig(level=os.environ.get("RBM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every connection at INFO; the migrate step logs its own one-line summary.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.core.settings import get_settings
    from app.db import migrate

    url = get_settings().resolved_database_url
    migrate.ensure_sqlite_dir(url)
    if args.downgrade:
        migrate.downgrade(url, args.downgrade)
    else:
        migrate.upgrade(url)
    from sqlalchemy import create_engine

    engine = create_engine(url)
    log.info("database schema at revision %s", migrate.current_revision(engine))
    engine.dispose()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import torch
    import uvicorn

    from app.auth.cli import keys_exist
    from app.auth.mode import open_mode_check
    from app.core.settings import get_settings
    from app.main import create_app
    from app.rbm.device import flush_denormals

    settings = get_settings()
    cmd_migrate(argparse.Namespace(downgrade=None))
    host = args.host or settings.host
    may_start, message = open_mode_check(host, keys_exist(settings.resolved_database_url),
                                         settings.require_auth, settings.allow_open)
    if not may_start:
        log.error("%s", message)
        return 2
    if message:
        log.warning("%s", message)
    flush_denormals()
    torch.set_num_threads(settings.api_threads)
    app = create_app(settings)
    supervisor = _embedded_worker(settings) if settings.embedded_worker else None
    app.state.supervisor = supervisor  # /readyz reports the embedded worker's state
    # uvicorn shuts down on SIGTERM, restores this handler and raises the signal again: exiting
    # here (not by the default action, which kills the process at once) runs the finally below,
    # so the worker is stopped by us instead of finding its parent gone
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        uvicorn.run(app, host=host, port=args.port or settings.port,
                    log_level=os.environ.get("RBM_LOG_LEVEL", "info").lower())
    finally:
        if supervisor is not None:
            supervisor.stop()
    return 0


def _exit_quietly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _embedded_worker(settings):
    """Start the supervised worker child: restarted with backoff when it dies, its jobs freed."""
    import socket
    import uuid

    from app.core.supervisor import WorkerSupervisor
    from app.core.workers import mark_stopped
    from app.db.session import Database

    db = Database(settings.resolved_database_url)
    parent = str(os.getpid())

    def spawn(worker_id: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--parent-pid", parent,
                                 "--worker-id", worker_id],
                                start_new_session=True)  # a terminal's Ctrl-C reaches serve, which stops it

    def on_death(worker_id: str, _code: int) -> None:
        with db.session() as session:
            freed = mark_stopped(session, worker_id, free_jobs=True)
        if freed:
            log.warning("requeueing job(s) %s of the dead embedded worker", ", ".join(freed))

    supervisor = WorkerSupervisor(spawn, lambda: f"{socket.gethostname()}:embedded:{uuid.uuid4().hex[:8]}",
                                  on_death, backoff_seconds=settings.worker_restart_seconds,
                                  backoff_max_seconds=settings.worker_restart_max_seconds)
    supervisor.start()
    return supervisor


def cmd_worker(args: argparse.Namespace) -> int:
    import torch

    from app.core.context import ServiceContext
    from app.core.settings import get_settings
    from app.core.workers import HeartbeatThread
    from app.rbm.device import flush_denormals
    from app.worker.runner import Worker

    settings = get_settings()
    flush_denormals()
    if settings.worker_threads:
        torch.set_num_threads(settings.worker_threads)
    ctx = ServiceContext.from_settings(settings)
    worker = Worker(ctx, worker_id=args.worker_id)
    heartbeat = HeartbeatThread(ctx.db, worker.id, settings.heartbeat_seconds)
    heartbeat.start()

    def _graceful(signum, _frame) -> None:
        log.info("signal %d: finishing the current epoch, then releasing the job", signum)
        worker.stop_event.set()

    signal.signal(signal.SIGTERM, _graceful)
    signal.signal(signal.SIGINT, _graceful)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid, worker.stop_event), daemon=True).start()
    try:
        if args.drain:
            worker.run_until_idle()
        else:
            worker.run_forever()
    finally:
        heartbeat.stop()
        ctx.close()
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from app.core.settings import get_settings
    from app.db.session import Database
    from app.storage.artifacts import ArtifactStore
    from app.storage.gc import sweep_orphans

    settings = get_settings()
    cmd_migrate(argparse.Namespace(downgrade=None))  # a fresh data dir has an empty store and no tables yet
    db = Database(settings.resolved_database_url)
    grace = args.grace_seconds if args.grace_seconds is not None else 2 * settings.lease_seconds
    with db.session() as session:
        result = sweep_orphans(session, ArtifactStore(settings.resolved_artifact_dir), grace, dry_run=args.dry_run)
    db.dispose()
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {result.removed} orphaned artifact(s), {result.bytes_freed:,} bytes; kept {result.kept}")
    return 0


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """An embedded worker ends with the server that started it, even if the server was killed."""
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            log.warning("parent %d is gone; stopping", parent_pid)
            stop.set()


def build_parser() -> argparse.ArgumentParser:
    from app.auth.cli import add_keys_parser

    parser = argparse.ArgumentParser(prog="rbm-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, start the API and (unless RBM_EMBEDDED_WORKER=false) a worker")
    serve.add_argument("--host", default=None, help="default: RBM_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="default: RBM_PORT (8000)")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run a standalone training worker")
    worker.add_argument("--drain", action="store_true", help="exit when no job is queued")
    worker.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    worker.add_argument("--worker-id", default=None, help=argparse.SUPPRESS)  # serve names its child
    worker.set_defaults(func=cmd_worker)
    migrate = sub.add_parser("migrate", help="apply database migrations (or --downgrade REV)")
    migrate.add_argument("--downgrade", default=None, metavar="REV")
    migrate.set_defaults(func=cmd_migrate)
    gc = sub.add_parser("gc", help="delete artifact files no database row refers to (left by killed workers)")
    gc.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    gc.add_argument("--grace-seconds", type=float, default=None,
                    help="keep files younger than this (default: 2 x RBM_LEASE_SECONDS)")
    gc.set_defaults(func=cmd_gc)
    add_keys_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _setup_logging()
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    try:
        return args.func(args)
    except ValidationError as exc:  # settings from the environment that cannot work together
        problems = "; ".join(str(e.get("msg", e)).removeprefix("Value error, ") for e in exc.errors())
        log.error("invalid settings: %s", problems)
        return 2


if __name__ == "__main__":
    sys.exit(main())
