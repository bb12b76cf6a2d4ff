"""Every endpoint as data: which request to send and how to read the answer. The sync and async
clients only differ in how they send a ``Call``, so the API is described once, here."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypedDict, TypeVar

import httpx
import numpy as np

T = TypeVar("T")

Resource = dict[str, Any]  # a dataset, job or model as the API returns it (see /docs for fields)
ArrayLike = np.ndarray | Sequence[Sequence[float]]
FileLike = bytes | str | Path


class Page(TypedDict):
    items: list[Resource]
    next_cursor: str | None


class PartitionFunction(TypedDict, total=False):
    log_z: float
    log_z_std: float
    method: Literal["exact", "ais"]
    seconds: float
    cached: bool
    log_z_reverse: float | None
    log_z_reverse_std: float | None


class KLDivergence(TypedDict):
    kl_divergence: float
    log_z: float
    n_states: int


@dataclass(frozen=True)
class Samples:
    samples: np.ndarray  # (n_samples, n_visible)
    seed: int
    sampler: str
    hidden: np.ndarray | None = None
    acceptance_rate: float | None = None
    #: parallel tempering: accepted / attempted swaps per neighbouring replica pair, and the ladder
    swap_acceptance: list[float] | None = None
    betas: list[float] | None = None
    #: equilibrium check of the draw (rhat, tau, ess, equilibrated, rule, ...)
    diagnostics: dict[str, Any] | None = None
    #: what was run once the server resolved the defaults
    steps: int | None = None
    thin: int | None = None
    n_chains: int | None = None
    init: str | None = None


@dataclass(frozen=True)
class LogLikelihood:
    values: np.ndarray  # log p(v) per row
    mean: float
    log_z: float
    log_z_std: float
    method: str


@dataclass(frozen=True)
class PseudoLikelihood:
    values: np.ndarray
    mean: float


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and the parser of its successful answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Read timeout for this call when it must exceed the client's (a long poll); None: the client's.
    read_timeout: float | None = None

    @property
    def retry_any_transport_error(self) -> bool:
        """Reads may be repeated after any transport error; writes only when the request surely
        never left (connect errors), so a job is never submitted twice."""
        return self.method in ("GET", "HEAD")


# ---------------------------------------------------------------------------- parsers
def _json(response: httpx.Response) -> Any:
    return response.json()


def _none(response: httpx.Response) -> None:
    return None


def _bytes(response: httpx.Response) -> bytes:
    return response.content


def _array(key: str) -> Callable[[httpx.Response], np.ndarray]:
    return lambda response: np.asarray(response.json()[key], dtype=np.float64)


def _samples(response: httpx.Response) -> Samples:
    body = response.json()
    hidden = body.get("hidden")
    return Samples(np.asarray(body["samples"], dtype=np.float64), body["seed"], body["sampler"],
                   None if hidden is None else np.asarray(hidden, dtype=np.float64), body.get("acceptance_rate"),
                   body.get("swap_acceptance"), body.get("betas"), body.get("diagnostics"), body.get("steps"),
                   body.get("thin"), body.get("n_chains"), body.get("init"))


def _log_likelihood(response: httpx.Response) -> LogLikelihood:
    b = response.json()
    return LogLikelihood(np.asarray(b["log_likelihood"], dtype=np.float64), b["mean"], b["log_z"], b["log_z_std"], b["method"])


def _pseudo_likelihood(response: httpx.Response) -> PseudoLikelihood:
    b = response.json()
    return PseudoLikelihood(np.asarray(b["pseudo_log_likelihood"], dtype=np.float64), b["mean"])


# ---------------------------------------------------------------------------- inputs
def rows(data: ArrayLike) -> list[list[float]]:
    """Vectors as JSON rows; a single vector becomes one row."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"data must be a 2-D array (one vector per row), got shape {array.shape}")
    return array.tolist()


def file_bytes(file: FileLike | np.ndarray) -> tuple[str, bytes]:
    """(filename, content) of a path, raw bytes or an array (sent as .npy)."""
    if isinstance(file, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, file)
        return "data.npy", buf.getvalue()
    if isinstance(file, bytes):
        return "upload.bin", file
    path = Path(file)
    return path.name, path.read_bytes()


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _page(path: str, limit: int, cursor: str | None, **extra: Any) -> Call[Page]:
    return Call("GET", path, _json, params=_clean({"limit": limit, "cursor": cursor, **extra}))


def _source(data: ArrayLike | None, dataset_id: str | None, split: str, limit: int | None) -> dict[str, Any]:
    return _clean({"data": None if data is None else rows(data), "dataset_id": dataset_id,
                   "split": split if dataset_id else None, "limit": limit})


# ---------------------------------------------------------------------------- endpoints
def health() -> Call[dict[str, Any]]:
    return Call("GET", "/healthz", _json)


def ready() -> Call[dict[str, Any]]:
    return Call("GET", "/readyz", _json)


def builtins() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/v1/datasets/builtins", _json)


def create_builtin(builtin: str, params: dict[str, Any] | None, name: str | None,
                   tags: dict[str, str] | None = None) -> Call[Resource]:
    return Call("POST", "/v1/datasets/builtin", _json,
                json=_clean({"builtin": builtin, "params": params or {}, "name": name, "tags": tags}))


def upload_dataset(file: FileLike | np.ndarray, name: str | None, label_column: str | None = None,
                   tags: dict[str, str] | None = None, image_shape: Sequence[int] | None = None) -> Call[Resource]:
    filename, content = file_bytes(file)
    return Call("POST", "/v1/datasets", _json, files={"file": (filename, content)},
                data=_clean({"name": name, "label_column": label_column, "tags": _tags_form(tags),
                             "image_shape": None if image_shape is None else ",".join(str(int(s)) for s in image_shape)}))


def _tags_form(tags: dict[str, str] | None) -> str | None:
    return None if tags is None else json.dumps(tags)


def _tag_params(tags: dict[str, str] | None) -> list[str] | None:
    """{"team": "vision"} -> ["team:vision"]: ?tag= filters, all must match."""
    return None if not tags else [f"{k}:{v}" for k, v in tags.items()]


def list_datasets(limit: int, cursor: str | None, name: str | None = None, tags: dict[str, str] | None = None,
                  builtin: str | None = None) -> Call[Page]:
    return _page("/v1/datasets", limit, cursor, name=name, tag=_tag_params(tags), builtin=builtin)


def get_dataset(dataset_id: str) -> Call[Resource]:
    return Call("GET", f"/v1/datasets/{dataset_id}", _json)


def delete_dataset(dataset_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/datasets/{dataset_id}", _none)


def submit_job(dataset_id: str, n_hidden: int, visible: str, name: str | None, training: dict[str, Any],
               tags: dict[str, str] | None = None, priority: int | None = None) -> Call[Resource]:
    body = _clean({"dataset_id": dataset_id, "name": name, "tags": tags, "priority": priority,
                   "model": {"n_hidden": n_hidden, "visible": visible}, "training": _clean(training)})
    return Call("POST", "/v1/jobs", _json, json=body)


def submit_dbn_job(dataset_id: str, layers: Sequence[int], visible: str, name: str | None,
                   training: dict[str, Any] | None, layers_training: Sequence[dict[str, Any]] | None) -> Call[Resource]:
    body = _clean({"kind": "dbn", "dataset_id": dataset_id, "name": name,
                   "model": {"layers": [int(n) for n in layers], "visible": visible},
                   "training": None if training is None else _clean(training),
                   "layers_training": None if layers_training is None else [_clean(t) for t in layers_training]})
    return Call("POST", "/v1/jobs", _json, json=body)


def submit_spec(spec: dict[str, Any]) -> Call[Resource]:
    """Any job kind, the body as POST /v1/jobs takes it."""
    return Call("POST", "/v1/jobs", _json, json=spec)


def submit_estimate_job(model_id: str, partition_function: dict[str, Any],
                        log_likelihood: dict[str, Any] | None, name: str | None) -> Call[Resource]:
    body = _clean({"kind": "estimate", "model_id": model_id, "name": name,
                   "estimate": _clean({"partition_function": _clean(partition_function),
                                       "log_likelihood": None if log_likelihood is None else _clean(log_likelihood)})})
    return Call("POST", "/v1/jobs", _json, json=body)


def list_jobs(limit: int, cursor: str | None, status: str | None, *, kind: str | None = None,
              dataset_id: str | None = None, sweep_id: str | None = None, name: str | None = None,
              tags: dict[str, str] | None = None) -> Call[Page]:
    return _page("/v1/jobs", limit, cursor, status=status, kind=kind, dataset_id=dataset_id, sweep_id=sweep_id,
                 name=name, tag=_tag_params(tags))


def compare_jobs(job_ids: Sequence[str]) -> Call[Resource]:
    return Call("GET", "/v1/jobs/compare", _json, params={"ids": ",".join(job_ids)})


def get_job(job_id: str, wait: float = 0) -> Call[Resource]:
    """``wait`` > 0 long-polls: the server answers when the job ends or after ``wait`` seconds."""
    return Call("GET", f"/v1/jobs/{job_id}", _json, params={"wait": wait} if wait else None,
                read_timeout=wait + 30 if wait else None)


def cancel_job(job_id: str) -> Call[Resource]:
    return Call("POST", f"/v1/jobs/{job_id}/cancel", _json)


def list_models(limit: int, cursor: str | None, *, name: str | None = None, tags: dict[str, str] | None = None,
                dataset_id: str | None = None, job_id: str | None = None, kind: str | None = None,
                source: str | None = None) -> Call[Page]:
    return _page("/v1/models", limit, cursor, name=name, tag=_tag_params(tags), dataset_id=dataset_id,
                 job_id=job_id, kind=kind, source=source)


def update_model(model_id: str, name: str | None, tags: dict[str, str] | None) -> Call[Resource]:
    return Call("PATCH", f"/v1/models/{model_id}", _json, json=_clean({"name": name, "tags": tags}))


def create_sweep(body: dict[str, Any]) -> Call[Resource]:
    return Call("POST", "/v1/sweeps", _json, json=body)


def list_sweeps(limit: int, cursor: str | None, name: str | None = None, tags: dict[str, str] | None = None) -> Call[Page]:
    return _page("/v1/sweeps", limit, cursor, name=name, tag=_tag_params(tags))


def get_sweep(sweep_id: str) -> Call[Resource]:
    return Call("GET", f"/v1/sweeps/{sweep_id}", _json)


def cancel_sweep(sweep_id: str) -> Call[Resource]:
    return Call("POST", f"/v1/sweeps/{sweep_id}/cancel", _json)


def get_model(model_id: str) -> Call[Resource]:
    return Call("GET", f"/v1/models/{model_id}", _json)


def delete_model(model_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/models/{model_id}", _none)


def weights(model_id: str) -> Call[bytes]:
    return Call("GET", f"/v1/models/{model_id}/weights", _bytes)


def upload_model(file: FileLike, name: str | None, image_shape: Sequence[int] | None) -> Call[Resource]:
    filename, content = file_bytes(file)
    shape = None if image_shape is None else ",".join(str(int(s)) for s in image_shape)
    return Call("POST", "/v1/models", _json, files={"file": (filename, content)},
                data=_clean({"name": name, "image_shape": shape}))


def free_energy(model_id: str, data: ArrayLike) -> Call[np.ndarray]:
    return Call("POST", f"/v1/models/{model_id}/free-energy", _array("free_energy"), json={"data": rows(data)})


def sample(model_id: str, body: dict[str, Any]) -> Call[Samples]:
    if body.get("vectors") is not None:
        body["vectors"] = rows(body["vectors"])
    return Call("POST", f"/v1/models/{model_id}/samples", _samples, json=_clean(body))


def hidden(model_id: str, data: ArrayLike, layer: int | None = None) -> Call[np.ndarray]:
    return Call("POST", f"/v1/models/{model_id}/hidden", _array("probabilities"),
                json=_clean({"data": rows(data), "layer": layer}))


def reconstruct(model_id: str, data: ArrayLike, layer: int | None = None) -> Call[np.ndarray]:
    return Call("POST", f"/v1/models/{model_id}/reconstruct", _array("reconstruction"),
                json=_clean({"data": rows(data), "layer": layer}))


class Energy(TypedDict):
    energy: float
    energy_error: float
    variance: float
    acceptance: float
    n_samples: int
    exact_energy: float | None
    relative_error: float | None


def submit_vmc_job(system: dict[str, Any], model: dict[str, Any] | None, vmc: dict[str, Any] | None,
                   name: str | None) -> Call[Resource]:
    body = _clean({"kind": "vmc", "system": system, "name": name,
                   "model": None if model is None else _clean(model), "vmc": None if vmc is None else _clean(vmc)})
    return Call("POST", "/v1/jobs", _json, json=body)


def energy(model_id: str, n_samples: int, seed: int) -> Call[Energy]:
    return Call("POST", f"/v1/models/{model_id}/energy", _json, json={"n_samples": n_samples, "seed": seed})


def log_psi(model_id: str, data: ArrayLike) -> Call[np.ndarray]:
    return Call("POST", f"/v1/models/{model_id}/log-psi", _array("log_psi"), json={"data": rows(data)})


@dataclass(frozen=True)
class Features:
    """``features (n, width)`` float32 at ``layer``; ``labels (n,)`` int64 or None."""

    features: np.ndarray
    labels: np.ndarray | None
    layer: int


def _features(response: httpx.Response) -> Features:
    npz = np.load(io.BytesIO(response.content))
    labels = npz["labels"] if "labels" in npz.files else None
    return Features(npz["features"], labels, int(response.headers.get("x-layer", -1)))


def features(model_id: str, dataset_id: str, split: str, layer: int | None, limit: int | None) -> Call[Features]:
    return Call("POST", f"/v1/models/{model_id}/features", _features,
                json=_clean({"dataset_id": dataset_id, "split": split, "layer": layer, "limit": limit, "format": "npz"}))


def partition_function(model_id: str, options: dict[str, Any]) -> Call[PartitionFunction]:
    return Call("POST", f"/v1/models/{model_id}/partition-function", _json, json=_clean(options))


def log_likelihood(model_id: str, data: ArrayLike | None, dataset_id: str | None, split: str, limit: int | None,
                   options: dict[str, Any]) -> Call[LogLikelihood]:
    return Call("POST", f"/v1/models/{model_id}/log-likelihood", _log_likelihood,
                json={**_source(data, dataset_id, split, limit), **_clean(options)})


def pseudo_likelihood(model_id: str, data: ArrayLike | None, dataset_id: str | None, split: str,
                      limit: int | None) -> Call[PseudoLikelihood]:
    return Call("POST", f"/v1/models/{model_id}/pseudo-likelihood", _pseudo_likelihood,
                json=_source(data, dataset_id, split, limit))


def kl_divergence(model_id: str, probabilities: ArrayLike | None, dataset_id: str | None, split: str) -> Call[KLDivergence]:
    probs = None if probabilities is None else np.asarray(probabilities, dtype=np.float64).ravel().tolist()
    return Call("POST", f"/v1/models/{model_id}/kl-divergence", _json,
                json=_clean({"probabilities": probs, "dataset_id": dataset_id, "split": split if dataset_id else None}))


def ising_observables(model_id: str, options: dict[str, Any]) -> Call[Resource]:
    return Call("POST", f"/v1/models/{model_id}/ising-observables", _json, json=_clean(options))


def _png(path: str, **params: Any) -> Call[bytes]:
    return Call("GET", path, _bytes, params=_clean(params))


def samples_png(model_id: str, n: int, steps: int | None, seed: int | None, sampler: str,
                n_replicas: int | None = None) -> Call[bytes]:
    return _png(f"/v1/models/{model_id}/samples.png", n=n, steps=steps, seed=seed, sampler=sampler,
                n_replicas=n_replicas)


def filters_png(model_id: str, n: int) -> Call[bytes]:
    return _png(f"/v1/models/{model_id}/filters.png", n=n)


def reconstructions_png(model_id: str, n: int, split: str, seed: int, dataset_id: str | None) -> Call[bytes]:
    return _png(f"/v1/models/{model_id}/reconstructions.png", n=n, split=split, seed=seed, dataset_id=dataset_id)


def curves_png(job_id: str, others: Sequence[str] | None = None) -> Call[bytes]:
    return _png(f"/v1/jobs/{job_id}/curves.png", ids=",".join(others) if others else None)


def ising_curves_png(L: int | None, n: int, steps: int, seed: int) -> Call[bytes]:
    return _png("/v1/ising/curves.png", L=L, n=n, steps=steps, seed=seed)


def events_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}/events"
