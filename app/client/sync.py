"""``RBMClient``: the blocking Python client (httpx). Arrays come back as numpy arrays."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TypeVar

import httpx
import numpy as np

from app.client import calls
from app.client.base import ClientConfig, result, stream_timeout, transport_error
from app.client.calls import (
    ArrayLike,
    Call,
    FileLike,
    KLDivergence,
    LogLikelihood,
    Page,
    PartitionFunction,
    PseudoLikelihood,
    Resource,
    Samples,
)
from app.client.enums import FINAL_STATUSES
from app.client.errors import RBMConnectionError, RBMError, RBMTimeoutError
from app.client.sse import JobEvent, SSEParser, is_final

T = TypeVar("T")


class RBMClient:
    """Client for one rbm-service.

    ``base_url`` defaults to RBM_URL (else http://127.0.0.1:8000), ``api_key`` to RBM_API_KEY.
    Connection errors are retried ``retries`` times with exponential ``backoff``; every error
    answer raises ``RBMError`` (``status``, ``code``, ``message``). Pass ``http`` to use your own
    ``httpx.Client`` (a FastAPI ``TestClient`` works: its base URL is kept)."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0,
                 retries: int = 3, backoff: float = 0.5, http: httpx.Client | None = None) -> None:
        self.config = ClientConfig.resolve(base_url, api_key, timeout, retries, backoff)
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.config.base_url, timeout=timeout)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> RBMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                return result(call, self.http.request(**self.config.request_kwargs(call)))
            except httpx.TransportError as exc:
                if not self.config.should_retry(call, exc, attempt):
                    raise transport_error(str(self.http.base_url), self.config.timeout, exc) from exc
                time.sleep(self.config.delay(attempt))
                attempt += 1

    # -- health -------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._send(calls.health())

    def ready(self) -> dict[str, Any]:
        return self._send(calls.ready())

    # -- datasets -----------------------------------------------------------------------
    def builtins(self) -> list[dict[str, Any]]:
        """The built-in data sets and their parameter schemas."""
        return self._send(calls.builtins())

    def create_builtin(self, builtin: str, params: dict[str, Any] | None = None, name: str | None = None,
                       tags: dict[str, str] | None = None) -> Resource:
        return self._send(calls.create_builtin(builtin, params, name, tags))

    def upload_dataset(self, file: FileLike | np.ndarray, name: str | None = None,
                       label_column: str | None = None, tags: dict[str, str] | None = None,
                       image_shape: Sequence[int] | None = None) -> Resource:
        """Upload a .npy/.npz/.csv file (path or bytes) or an array (sent as .npy); labels ride in an
        .npz as 'y' (+ 'y_test') or in the CSV column ``label_column``."""
        return self._send(calls.upload_dataset(file, name, label_column, tags, image_shape))

    def datasets(self, limit: int = 50, cursor: str | None = None, *, name: str | None = None,
                 tags: dict[str, str] | None = None, builtin: str | None = None) -> Page:
        """Newest first; ``tags`` filters (all must match)."""
        return self._send(calls.list_datasets(limit, cursor, name, tags, builtin))

    def dataset(self, dataset_id: str) -> Resource:
        return self._send(calls.get_dataset(dataset_id))

    def delete_dataset(self, dataset_id: str) -> None:
        return self._send(calls.delete_dataset(dataset_id))

    # -- jobs ---------------------------------------------------------------------------
    def submit_job(self, dataset_id: str, n_hidden: int, *, visible: Literal["bernoulli", "gaussian"] = "bernoulli",
                   name: str | None = None, tags: dict[str, str] | None = None, priority: int | None = None,
                   **training: Any) -> Resource:
        """Start training; ``training`` takes the options of POST /v1/jobs (epochs, learning_rate, ...)."""
        return self._send(calls.submit_job(dataset_id, n_hidden, visible, name, training, tags, priority))

    def submit(self, spec: dict[str, Any]) -> Resource:
        """Submit a job of any kind: ``spec`` is the body of POST /v1/jobs (``kind`` included)."""
        return self._send(calls.submit_spec(spec))

    def submit_estimate_job(self, model_id: str, *, method: str = "auto", n_runs: int | None = None,
                            n_betas: int | None = None, seed: int | None = None,
                            log_likelihood: dict[str, Any] | None = None, name: str | None = None) -> Resource:
        """log Z (and, with ``log_likelihood={"split": "test"}``, the mean log-likelihood) on a
        worker; ``wait()`` for it, then read ``result``. Fills the model's log Z cache."""
        pf = {"method": method, "n_runs": n_runs, "n_betas": n_betas, "seed": seed}
        return self._send(calls.submit_estimate_job(model_id, pf, log_likelihood, name))

    def submit_dbn_job(self, dataset_id: str, layers: Sequence[int], *,
                         visible: Literal["bernoulli", "gaussian"] = "bernoulli", name: str | None = None,
                         layers_training: Sequence[dict[str, Any]] | None = None, **training: Any) -> Resource:
        """Start a deep belief network job: ``layers`` hidden sizes bottom first; ``training`` options for
        every layer, or ``layers_training`` one dict per layer."""
        return self._send(calls.submit_dbn_job(dataset_id, layers, visible, name,
                                                 None if layers_training is not None else training, layers_training))

    def jobs(self, limit: int = 50, cursor: str | None = None, status: str | None = None, **filters: Any) -> Page:
        """Newest first; ``filters``: kind, dataset_id, sweep_id, name, tags (a dict, all must match)."""
        return self._send(calls.list_jobs(limit, cursor, status, **filters))

    def compare(self, job_ids: Sequence[str]) -> Resource:
        """Jobs side by side: ``options`` (path -> one value per job), ``differing``, final ``metrics``."""
        return self._send(calls.compare_jobs(job_ids))

    def job(self, job_id: str) -> Resource:
        return self._send(calls.get_job(job_id))

    def cancel_job(self, job_id: str) -> Resource:
        return self._send(calls.cancel_job(job_id))

    def events(self, job_id: str, last_event_id: int | None = None) -> Iterator[JobEvent]:
        """The job's events from the start (or after ``last_event_id``) until its final status.
        A dropped connection is resumed with Last-Event-ID, up to ``retries`` times in a row."""
        failures = 0
        while True:
            headers = self.config.headers({"Accept": "text/event-stream"})
            if last_event_id is not None:
                headers["Last-Event-ID"] = str(last_event_id)
            try:
                with self.http.stream("GET", calls.events_path(job_id), headers=headers,
                                      timeout=stream_timeout(self.config.timeout)) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise RBMError.from_response(response)
                    parser = SSEParser()
                    for line in response.iter_lines():
                        event = parser.feed(line)
                        if event is None:
                            continue
                        failures, last_event_id = 0, event.id
                        yield event
                        if is_final(event):
                            return
                return  # the server closed the stream: the job was already final
            except httpx.TransportError as exc:
                if failures >= self.config.retries:
                    raise RBMConnectionError(str(self.http.base_url), exc) from exc
                time.sleep(self.config.delay(failures))
                failures += 1

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 30.0) -> Resource:
        """The job once it has ended (long polls of ``poll`` seconds, so no request outlives the
        server's limit); raises :class:`RBMTimeoutError` after ``timeout`` seconds if given."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            job = self._send(calls.get_job(job_id, wait=wait))
            if job["status"] in FINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise RBMTimeoutError(str(self.http.base_url), timeout or 0.0,
                                      TimeoutError(f"job {job_id} is still {job['status']}"))

    # -- models -------------------------------------------------------------------------
    def models(self, limit: int = 50, cursor: str | None = None, **filters: Any) -> Page:
        """Newest first; ``filters``: name, tags (a dict), dataset_id, job_id, kind, source."""
        return self._send(calls.list_models(limit, cursor, **filters))

    def update_model(self, model_id: str, *, name: str | None = None, tags: dict[str, str] | None = None) -> Resource:
        """Rename and/or retag a model (tags replace the old ones)."""
        return self._send(calls.update_model(model_id, name, tags))

    # -- sweeps -------------------------------------------------------------------------
    def create_sweep(self, base: dict[str, Any], *, grid: dict[str, list[Any]] | None = None,
                     random: dict[str, dict[str, Any]] | None = None, count: int | None = None,
                     metric: str = "reconstruction_error", goal: str = "min", name: str | None = None,
                     **options: Any) -> Resource:
        """One job per grid point or random draw over ``base`` (a POST /v1/jobs body); ``options``:
        tags, seed, priority."""
        body = {"base": base, "grid": grid, "random": random, "count": count, "metric": metric, "goal": goal,
                "name": name, **options}
        return self._send(calls.create_sweep({k: v for k, v in body.items() if v is not None}))

    def sweep(self, sweep_id: str) -> Resource:
        """The sweep's jobs ranked by its metric, ``best`` (job and model), ``done``."""
        return self._send(calls.get_sweep(sweep_id))

    def sweeps(self, limit: int = 20, cursor: str | None = None, *, name: str | None = None,
               tags: dict[str, str] | None = None) -> Page:
        return self._send(calls.list_sweeps(limit, cursor, name, tags))

    def cancel_sweep(self, sweep_id: str) -> Resource:
        return self._send(calls.cancel_sweep(sweep_id))

    def model(self, model_id: str) -> Resource:
        return self._send(calls.get_model(model_id))

    def delete_model(self, model_id: str) -> None:
        return self._send(calls.delete_model(model_id))

    def weights(self, model_id: str) -> bytes:
        """The model's weights as a safetensors file."""
        return self._send(calls.weights(model_id))

    def upload_model(self, file: FileLike, name: str | None = None, image_shape: Sequence[int] | None = None) -> Resource:
        """Register safetensors weights (path or bytes) as a model."""
        return self._send(calls.upload_model(file, name, image_shape))

    # -- queries on a model ----------------------------------------------------------------
    def free_energy(self, model_id: str, data: ArrayLike) -> np.ndarray:
        return self._send(calls.free_energy(model_id, data))

    def samples(self, model_id: str, n_samples: int = 10, *, steps: int | None = None, seed: int | None = None,
                **options: Any) -> Samples:
        """Draw samples; ``options`` as in POST .../samples (sampler: auto/gibbs/metropolis/pt, n_replicas,
        betas, thin, n_chains, init, beta, ...). Unset ``steps`` and sampler: the server picks equilibrium
        defaults; the answer's ``diagnostics`` say whether the draw equilibrated."""
        return self._send(calls.sample(model_id, {"n_samples": n_samples, "steps": steps, "seed": seed, **options}))

    def hidden(self, model_id: str, data: ArrayLike, layer: int | None = None) -> np.ndarray:
        """p(h_j = 1 | v) per row (a DBN: mean-field features of hidden layer ``layer``, default the top)."""
        return self._send(calls.hidden(model_id, data, layer))

    def reconstruct(self, model_id: str, data: ArrayLike, layer: int | None = None) -> np.ndarray:
        """Mean-field reconstructions v -> p(h|v) -> E[v|h] (a DBN: up to ``layer`` and back down)."""
        return self._send(calls.reconstruct(model_id, data, layer))

    # -- wave functions (kind vmc) -----------------------------------------------------------
    def submit_vmc_job(self, system: dict[str, Any], *, model: dict[str, Any] | None = None,
                       vmc: dict[str, Any] | None = None, name: str | None = None) -> Resource:
        """Variational Monte Carlo, e.g. ``system={"type": "tfim", "n_spins": 20}``; the job's model is a
        wave function (kind ``wavefunction``) and ``result`` holds its energy against the exact one."""
        return self._send(calls.submit_vmc_job(system, model, vmc, name))

    def energy(self, model_id: str, n_samples: int = 100_000, seed: int = 0) -> calls.Energy:
        """Energy of a wave function by sampling |psi|^2 (blocking error, exact energy where known)."""
        return self._send(calls.energy(model_id, n_samples, seed))

    def log_psi(self, model_id: str, data: ArrayLike) -> np.ndarray:
        """log |psi| of each configuration (coordinates, or spins -1/+1)."""
        return self._send(calls.log_psi(model_id, data))

    def features(self, model_id: str, dataset_id: str, split: str = "train", layer: int | None = None,
                 limit: int | None = None) -> calls.Features:
        """A dataset split's features under the model (``.features``, ``.labels`` where it has them)."""
        return self._send(calls.features(model_id, dataset_id, split, layer, limit))

    def partition_function(self, model_id: str, method: Literal["exact", "ais", "auto"] = "auto",
                           **options: Any) -> PartitionFunction:
        return self._send(calls.partition_function(model_id, {"method": method, **options}))

    def log_likelihood(self, model_id: str, data: ArrayLike | None = None, *, dataset_id: str | None = None,
                       split: str = "train", limit: int | None = None, **options: Any) -> LogLikelihood:
        return self._send(calls.log_likelihood(model_id, data, dataset_id, split, limit, options))

    def pseudo_likelihood(self, model_id: str, data: ArrayLike | None = None, *, dataset_id: str | None = None,
                          split: str = "train", limit: int | None = None) -> PseudoLikelihood:
        return self._send(calls.pseudo_likelihood(model_id, data, dataset_id, split, limit))

    def kl_divergence(self, model_id: str, probabilities: ArrayLike | None = None, *, dataset_id: str | None = None,
                      split: str = "train") -> KLDivergence:
        return self._send(calls.kl_divergence(model_id, probabilities, dataset_id, split))

    def ising_observables(self, model_id: str, L: int | None = None, T: float | None = None, **options: Any) -> Resource:
        """Energy, |m|, specific heat, susceptibility of the model's samples against exact Ising results."""
        return self._send(calls.ising_observables(model_id, {"L": L, "T": T, **options}))

    # -- pictures (PNG bytes) ---------------------------------------------------------------
    def samples_png(self, model_id: str, n: int = 64, *, steps: int | None = None, seed: int | None = None,
                    sampler: str = "auto", n_replicas: int | None = None) -> bytes:
        return self._send(calls.samples_png(model_id, n, steps, seed, sampler, n_replicas))

    def filters_png(self, model_id: str, n: int = 100) -> bytes:
        return self._send(calls.filters_png(model_id, n))

    def reconstructions_png(self, model_id: str, n: int = 16, *, split: str = "train", seed: int = 0,
                            dataset_id: str | None = None) -> bytes:
        return self._send(calls.reconstructions_png(model_id, n, split, seed, dataset_id))

    def curves_png(self, job_id: str, others: Sequence[str] | None = None) -> bytes:
        """The job's per-epoch metrics; with ``others``, those jobs' curves in the same panels."""
        return self._send(calls.curves_png(job_id, others))

    def ising_curves_png(self, L: int | None = None, *, n: int = 500, steps: int = 200, seed: int = 0) -> bytes:
        return self._send(calls.ising_curves_png(L, n, steps, seed))
