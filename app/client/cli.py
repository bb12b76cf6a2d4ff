"""``rbm``: the command line for a running rbm-service (RBM_URL, RBM_API_KEY), on the Python client.

    rbm datasets add digits --param binarize=threshold
    rbm train --dataset ID --hidden 64 --epochs 20 --watch
    rbm sample MODEL -n 16 --png samples.png --npy samples.npy
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from app.client.errors import RBMError
from app.client.sse import FINAL_STATUSES
from app.client.sync import RBMClient

# piped output is not squeezed to 80 columns: ids must stay whole for the next command
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)


def _no_flag_metavar(params: list[click.Parameter]) -> list[click.Parameter]:
    """A flag takes no value, but typer would print ``<bool>`` beside it: show nothing there."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Group(TyperGroup):
    """Server errors become one red line and exit code 1, not a traceback; flags show no metavar."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _no_flag_metavar(super().get_params(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _no_flag_metavar(command.get_params(ctx))
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RBMError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Group, help="Train and query RBMs on an rbm-service server.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
datasets_app = typer.Typer(cls=_Group, help="Data sets: add a built-in, upload, list.", no_args_is_help=True)
jobs_app = typer.Typer(cls=_Group, help="Training jobs: list, watch, wait, cancel.", no_args_is_help=True)
models_app = typer.Typer(cls=_Group, help="Trained and uploaded models.", no_args_is_help=True)
sweeps_app = typer.Typer(cls=_Group, help="Sweeps: many jobs over a grid or random options, ranked.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(jobs_app, name="jobs")
app.add_typer(models_app, name="models")
app.add_typer(sweeps_app, name="sweeps")


def make_client(url: str | None, api_key: str | None) -> RBMClient:
    """The client every command uses (tests replace it to talk to an in-process app)."""
    return RBMClient(url, api_key)


@app.callback()
def main(ctx: typer.Context,
         url: Annotated[str | None, typer.Option(envvar="RBM_URL", help="Server URL (default http://127.0.0.1:8000).")] = None,
         api_key: Annotated[str | None, typer.Option(envvar="RBM_API_KEY", help="API key, sent as a Bearer token.")] = None,
         ) -> None:
    ctx.obj = make_client(url, api_key)
    ctx.call_on_close(ctx.obj.close)


def client(ctx: typer.Context) -> RBMClient:
    root = ctx.find_root()
    assert isinstance(root.obj, RBMClient)
    return root.obj


def fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def parse_params(items: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; values read as JSON where they parse (numbers, true, null), else strings."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--param needs key=value, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def parse_tags(items: list[str]) -> dict[str, str] | None:
    """``key:value`` options -> {"key": "value"}; None when there are none."""
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key:
            fail(f"--tag needs key:value, got {item!r}")
        tags[key] = value
    return tags or None


def show_tags(tags: dict[str, str] | None) -> str | None:
    return ", ".join(f"{k}:{v}" for k, v in tags.items()) if tags else None


ID_COLUMNS = {"id", "dataset", "model"}


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Ids are shown whole: people copy them into the next command."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column, no_wrap=column in ID_COLUMNS, min_width=32 if column in ID_COLUMNS else None)
    for row in rows:
        out.add_row(*("–" if v is None else str(v) for v in row))
    console.print(out)


# -- datasets --------------------------------------------------------------------------------
@datasets_app.command("add")
def datasets_add(ctx: typer.Context, builtin: Annotated[str, typer.Argument(help="digits, mnist, ising, bars-and-stripes")],
                 param: Annotated[list[str], typer.Option("--param", "-p", help="k=v, repeatable")] = [],  # noqa: B006
                 name: Annotated[str | None, typer.Option(help="A name for the data set.")] = None,
                 tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
                 ) -> None:
    """Create a data set from a built-in generator; prints its id."""
    ds = client(ctx).create_builtin(builtin, parse_params(param), name, parse_tags(tag))
    console.print(f"dataset [bold]{ds['id']}[/bold]: {ds['name']}, {ds['n_samples']} x {ds['n_features']}")


@datasets_app.command("upload")
def datasets_upload(ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                    name: Annotated[str | None, typer.Option()] = None,
                    tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
                    image_shape: Annotated[str | None, typer.Option(help="height,width of a row as an image, "
                                                                       "e.g. 8,8")] = None) -> None:
    """Upload a .npy, .npz or .csv file (one vector per row)."""
    shape = None if image_shape is None else [int(p) for p in image_shape.replace("x", ",").split(",")]
    ds = client(ctx).upload_dataset(file, name, tags=parse_tags(tag), image_shape=shape)
    console.print(f"dataset [bold]{ds['id']}[/bold]: {ds['name']}, {ds['n_samples']} x {ds['n_features']}")


@datasets_app.command("ls")
def datasets_ls(ctx: typer.Context, limit: int = 50, name: Annotated[str | None, typer.Option()] = None,
                tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
                ) -> None:
    """List data sets, newest first (--name, --tag filter)."""
    items = client(ctx).datasets(limit, name=name, tags=parse_tags(tag))["items"]
    table("datasets", ["id", "name", "tags", "rows", "features", "type", "image"],
          [[d["id"], d["name"], show_tags(d.get("tags")), d["n_samples"], d["n_features"], d["value_type"],
            "x".join(map(str, d["image_shape"])) if d.get("image_shape") else None] for d in items])


# -- training and jobs -----------------------------------------------------------------------
@app.command()
def train(ctx: typer.Context,
          dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset id.")],
          hidden: Annotated[int | None, typer.Option("--hidden", help="Hidden units (an RBM).")] = None,
          layers: Annotated[str | None, typer.Option("--layers", help="Hidden units per layer of a deep belief "
                                                        "network, bottom first, e.g. 500,500.")] = None,
          epochs: Annotated[int | None, typer.Option(help="Passes over the data.")] = None,
          learning_rate: Annotated[float | None, typer.Option("--lr", help="Learning rate.")] = None,
          batch_size: Annotated[int | None, typer.Option()] = None,
          method: Annotated[str | None, typer.Option(help="cd or pcd.")] = None,
          visible: Annotated[str, typer.Option(help="bernoulli or gaussian.")] = "bernoulli",
          seed: Annotated[int | None, typer.Option()] = None,
          name: Annotated[str | None, typer.Option()] = None,
          tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
          priority: Annotated[int | None, typer.Option(help="Higher runs first (default 0).")] = None,
          watch: Annotated[bool, typer.Option("--watch", "-w", help="Show live progress until the job ends.")] = False,
          ) -> None:
    """Submit a training job (an RBM with --hidden, a DBN with --layers); with --watch, follow it."""
    options = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "method": method, "seed": seed}
    options = {k: v for k, v in options.items() if v is not None}
    if (hidden is None) == (layers is None):
        fail("give --hidden N (an RBM) or --layers N,N,... (a deep belief network), one of the two")
    if layers is not None:
        try:
            sizes = [int(n) for n in layers.split(",") if n.strip()]
        except ValueError:
            fail(f"--layers takes hidden sizes separated by commas, like 500,500; got {layers!r}")
        if tag or priority is not None:
            fail("--tag and --priority apply to RBM jobs (--hidden); a DBN job takes --name")
        job = client(ctx).submit_dbn_job(dataset, sizes, visible=visible, name=name, **options)  # type: ignore[arg-type]
    else:
        job = client(ctx).submit_job(dataset, hidden, visible=visible, name=name, tags=parse_tags(tag),  # type: ignore[arg-type]
                                     priority=priority, **options)
    console.print(f"job [bold]{job['id']}[/bold] {job['status']}")
    if watch:
        watch_job(client(ctx), job["id"], job["progress"]["epochs"])


def watch_job(rbm: RBMClient, job_id: str, epochs: int) -> None:
    """A progress bar fed by the job's event stream; exits 1 unless the job succeeds."""
    final: dict[str, Any] = {}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[metric]}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(job_id[:8], total=epochs, metric="")
        for event in rbm.events(job_id):
            data = event.data
            if event.event == "progress":
                metric = data.get("reconstruction_error")
                bar.update(task, completed=data["epoch"], total=data.get("epochs", epochs),
                           metric="" if metric is None else f"recon {metric:.4f}")
            elif event.event == "status":
                bar.update(task, description=f"{job_id[:8]} {data['status']}")
                if data["status"] in FINAL_STATUSES:
                    final = data
    status = final.get("status") or rbm.job(job_id)["status"]
    if status == "succeeded":
        console.print(f"[green]succeeded[/green]: model [bold]{final.get('model_id') or rbm.job(job_id)['model_id']}[/bold]")
        return
    fail(f"job {job_id} {status}{': ' + final['error'] if final.get('error') else ''}")


@app.command()
def submit(ctx: typer.Context,
           spec: Annotated[Path, typer.Argument(help="JSON file with the body of POST /v1/jobs (any kind); - for stdin",
                                                allow_dash=True)],
           watch: Annotated[bool, typer.Option("--watch", help="follow it to the end")] = False) -> None:
    """Submit a job of any kind (train, estimate, vmc, dbn) from its JSON spec."""
    import json
    import sys

    body = json.loads(sys.stdin.read() if str(spec) == "-" else spec.read_text())
    rbm = client(ctx)
    job = rbm.submit(body)
    console.print(f"job {job['id']} queued ({job['kind']})")
    if watch:
        watch_job(rbm, job["id"], job["progress"]["steps"])
        result = rbm.job(job["id"])["result"]
        if result:
            console.print_json(data=result)


@app.command()
def estimate(ctx: typer.Context, model: str,
             method: Annotated[str, typer.Option(help="auto, exact or ais")] = "auto",
             runs: Annotated[int | None, typer.Option(help="AIS runs")] = None,
             betas: Annotated[int | None, typer.Option(help="AIS inverse temperatures")] = None,
             seed: Annotated[int | None, typer.Option()] = None,
             split: Annotated[str | None, typer.Option(help="also the mean log-likelihood of this split "
                                                          "(train, test, all) of the model's data")] = None,
             watch: Annotated[bool, typer.Option("--watch", help="follow it and print the result")] = False) -> None:
    """Estimate log Z (and a log-likelihood) as a job on a worker: for estimations too long for a request."""
    rbm = client(ctx)
    job = rbm.submit_estimate_job(model, method=method, n_runs=runs, n_betas=betas, seed=seed,
                                  log_likelihood=None if split is None else {"split": split})
    console.print(f"job {job['id']} queued")
    if watch:
        watch_job(rbm, job["id"], job["progress"]["steps"])
        console.print_json(data=rbm.job(job["id"])["result"])


@jobs_app.command("ls")
def jobs_ls(ctx: typer.Context, limit: int = 50,
            status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
            kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
            dataset: Annotated[str | None, typer.Option(help="Only jobs on this dataset.")] = None,
            sweep: Annotated[str | None, typer.Option(help="Only the jobs of this sweep.")] = None,
            name: Annotated[str | None, typer.Option()] = None,
            tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
            ) -> None:
    """List jobs, newest first."""
    items = client(ctx).jobs(limit, status=status, kind=kind, dataset_id=dataset, sweep_id=sweep, name=name,
                             tags=parse_tags(tag))["items"]
    table("jobs", ["id", "name", "kind", "status", "step", "tags", "dataset", "model"],
          [[j["id"], j.get("name"), j.get("kind"), j["status"], f"{j['progress']['epoch']}/{j['progress']['epochs']}",
            show_tags(j.get("tags")), j["dataset_id"], j["model_id"]] for j in items])


@jobs_app.command("wait")
def jobs_wait(ctx: typer.Context, job_id: str,
              timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None) -> None:
    """Wait for a job to end; prints its model id (for MODEL=$(rbm jobs wait $JOB)); exit 1 unless it succeeded."""
    job = client(ctx).wait(job_id, timeout=timeout)
    if job["status"] != "succeeded":
        fail(f"job {job_id} {job['status']}{': ' + job['error'] if job.get('error') else ''}")
    err_console.print(f"job {job_id} succeeded")
    print(job["model_id"] or "")


@jobs_app.command("compare")
def jobs_compare(ctx: typer.Context, job_ids: Annotated[list[str], typer.Argument(help="Two or more job ids.")],
                 all_options: Annotated[bool, typer.Option("--all", help="Every option, not only those that differ.")] = False,
                 png: Annotated[Path | None, typer.Option(help="Also write their curves, overlaid, to this PNG.")] = None,
                 ) -> None:
    """Jobs side by side: the options that differ and the final metrics."""
    rbm = client(ctx)
    cmp = rbm.compare(job_ids)
    heads = [j.get("name") or j["id"][:8] for j in cmp["jobs"]]
    paths = list(cmp["options"]) if all_options else cmp["differing"]
    rows = [[p, *cmp["options"][p]] for p in paths] + [[m, *(None if v is None else f"{v:.6g}" for v in vs)]
                                                          for m, vs in cmp["metrics"].items()]
    table("compare", ["", *heads], rows)
    if png is not None:
        png.write_bytes(rbm.curves_png(job_ids[0], job_ids[1:]))
        console.print(f"wrote {png}")


@jobs_app.command("watch")
def jobs_watch(ctx: typer.Context, job_id: str) -> None:
    """Follow a job's progress until it ends."""
    rbm = client(ctx)
    watch_job(rbm, job_id, rbm.job(job_id)["progress"]["epochs"])


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: str) -> None:
    job = client(ctx).cancel_job(job_id)
    console.print(f"job {job['id']} {job['status']}")


# -- models and queries ----------------------------------------------------------------------
@models_app.command("ls")
def models_ls(ctx: typer.Context, limit: int = 50, name: Annotated[str | None, typer.Option()] = None,
              tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
              dataset: Annotated[str | None, typer.Option(help="Only models trained on this dataset.")] = None,
              job: Annotated[str | None, typer.Option(help="The model of this job.")] = None,
              kind: Annotated[str | None, typer.Option(help="rbm, dbn or wavefunction.")] = None) -> None:
    """List models, newest first."""
    items = client(ctx).models(limit, name=name, tags=parse_tags(tag), dataset_id=dataset, job_id=job, kind=kind)["items"]
    table("models", ["id", "name", "kind", "tags", "visible", "n_visible", "n_hidden", "dataset"],
          [[m["id"], m["name"], m.get("kind"), show_tags(m.get("tags")), m["visible_type"], m["n_visible"],
            m["n_hidden"], m["dataset_id"]] for m in items])


@models_app.command("tag")
def models_tag(ctx: typer.Context, model_id: str, name: Annotated[str | None, typer.Option()] = None,
               tag: Annotated[list[str], typer.Option("--tag", "-t", help="key:value, repeatable.")] = [],  # noqa: B006
               ) -> None:
    """Rename a model and/or replace its tags."""
    model = client(ctx).update_model(model_id, name=name, tags=parse_tags(tag))
    console.print(f"model {model['id']}: {model['name']} {show_tags(model.get('tags')) or ''}")


# -- sweeps ----------------------------------------------------------------------------------
def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``path=v1,v2`` options -> {path: [v1, v2]}; values read as JSON where they parse."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        if not sep or not path or not raw:
            fail(f"--grid needs option.path=v1,v2, got {item!r}")
        grid[path] = list(parse_params([f"v{i}={v}" for i, v in enumerate(raw.split(","))]).values())
    return grid


@sweeps_app.command("start")
def sweeps_start(ctx: typer.Context,
                 dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset id.")],
                 hidden: Annotated[int, typer.Option("--hidden", help="Hidden units of the base spec.")],
                 grid: Annotated[list[str], typer.Option("--grid", help="option.path=v1,v2 (repeatable), e.g. "
                                                          "training.learning_rate=0.1,0.01")],
                 epochs: Annotated[int | None, typer.Option(help="Epochs of every job.")] = None,
                 metric: Annotated[str, typer.Option(help="The final metric that ranks the jobs.")] = "reconstruction_error",
                 goal: Annotated[str, typer.Option(help="min or max.")] = "min",
                 name: Annotated[str | None, typer.Option()] = None,
                 priority: Annotated[int | None, typer.Option(help="Queue priority of every job.")] = None,
                 watch: Annotated[bool, typer.Option("--watch", "-w", help="Wait for every job, then show the ranking.")] = False,
                 ) -> None:
    """Start a grid sweep over a train job's options; prints its id."""
    base: dict[str, Any] = {"dataset_id": dataset, "model": {"n_hidden": hidden}}
    if epochs is not None:
        base["training"] = {"epochs": epochs}
    rbm = client(ctx)
    sweep = rbm.create_sweep(base, grid=parse_grid(grid), metric=metric, goal=goal, name=name, priority=priority)
    console.print(f"sweep [bold]{sweep['id']}[/bold]: {sum(sweep['counts'].values())} jobs queued")
    if watch:
        for job in sweep["jobs"]:
            rbm.wait(job["id"])
        show_sweep(rbm.sweep(sweep["id"]))


def show_sweep(sweep: dict[str, Any]) -> None:
    paths = list(sweep["jobs"][0]["options"]) if sweep["jobs"] else []
    table(f"sweep {sweep['id']} ({sweep['metric']}, {sweep['goal']})", ["id", "name", "status", *paths, "value", "model"],
          [[j["id"], j["name"], j["status"], *(j["options"].get(p) for p in paths),
            None if j["value"] is None else f"{j['value']:.6g}", j["model_id"]] for j in sweep["jobs"]])
    best = sweep.get("best")
    console.print(f"best: model [bold]{best['model_id']}[/bold] ({best['name']}, {best['value']:.6g})" if best
                  else "best: none yet")


@sweeps_app.command("show")
def sweeps_show(ctx: typer.Context, sweep_id: str) -> None:
    """A sweep's jobs, best first by its metric."""
    show_sweep(client(ctx).sweep(sweep_id))


@sweeps_app.command("ls")
def sweeps_ls(ctx: typer.Context, limit: int = 20) -> None:
    """List sweeps, newest first."""
    table("sweeps", ["id", "name", "metric", "jobs", "done", "best model"],
          [[s["id"], s["name"], f"{s['metric']} ({s['goal']})", sum(s["counts"].values()), s["done"],
            (s.get("best") or {}).get("model_id")] for s in client(ctx).sweeps(limit)["items"]])


@sweeps_app.command("cancel")
def sweeps_cancel(ctx: typer.Context, sweep_id: str) -> None:
    """Cancel the sweep's jobs that have not ended."""
    show_sweep(client(ctx).cancel_sweep(sweep_id))


@app.command()
def sample(ctx: typer.Context, model: str,
           n: Annotated[int, typer.Option("-n", help="How many samples.")] = 16,
           steps: Annotated[int | None, typer.Option(help="Sweeps before each sample; default: the server's "
                                                        "choice for the sampler.")] = None,
           seed: Annotated[int | None, typer.Option()] = None,
           sampler: Annotated[str, typer.Option(help="auto (default: parallel tempering from the model's stored "
                                                "chains), gibbs, metropolis or pt.")] = "auto",
           replicas: Annotated[int | None, typer.Option(help="pt: replicas per chain.")] = None,
           png: Annotated[Path | None, typer.Option(help="Write a PNG grid (models with an image shape).")] = None,
           npy: Annotated[Path | None, typer.Option(help="Write the samples as a .npy array.")] = None) -> None:
    """Draw samples: to a PNG grid, a .npy file, or (with neither) printed."""
    rbm = client(ctx)
    if png is not None:
        png.write_bytes(rbm.samples_png(model, n, steps=steps, seed=seed, sampler=sampler, n_replicas=replicas))
        console.print(f"wrote {png}")
    if npy is not None or png is None:
        result = rbm.samples(model, n, steps=steps, seed=seed, sampler=sampler, n_replicas=replicas)
        if npy is not None:
            np.save(npy, result.samples)
            d = result.diagnostics or {}
            console.print(f"wrote {npy} {result.samples.shape} (seed {result.seed}): {result.sampler} from "
                          f"{result.init}, {result.steps} sweeps, {result.n_chains} chains; R-hat {d.get('rhat')}, "
                          f"tau {d.get('tau')} sweeps, equilibrated {d.get('equilibrated')}"
                          + (f"; swap acceptance {[round(a, 2) for a in result.swap_acceptance]}"
                             if result.swap_acceptance else ""))
        else:
            for row in result.samples:
                console.print("".join("1" if x >= 0.5 else "0" for x in row) if _binary(row) else np.array2string(row))


def _binary(row: np.ndarray) -> bool:
    return bool(np.all((row == 0) | (row == 1)))


@app.command("free-energy")
def free_energy(ctx: typer.Context, model: str,
                data: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                                     help="A .npy array, one vector per row.")]) -> None:
    """F(v) of each row of a .npy file, one per line."""
    try:
        array = np.load(data, allow_pickle=False)
    except (ValueError, OSError) as exc:
        fail(f"{data} is not a .npy array: {exc}")
    for value in client(ctx).free_energy(model, array):
        console.print(f"{value:.6g}" if math.isfinite(value) else str(value))

