"""One settings object for every process (API, worker, CLI), read from ``RBM_*`` env vars.

Every limit the service enforces lives here, so operators can see and change them in one place.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RBM_", env_file=None, extra="ignore")

    # -- where things live -------------------------------------------------------------------
    data_dir: Path = Field(Path("./rbm-data"), description="Root for the SQLite file and artifacts.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default: SQLite file rbm.sqlite3 in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    artifact_dir: Path | None = Field(
        None,
        description="Directory holding weights, uploaded arrays and checkpoints; default: "
        "data_dir/artifacts. Share it (volume, NFS) between machines that share the database.",
    )

    # -- processes ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    embedded_worker: bool = Field(True, description="`serve` also starts one worker process.")
    device: str = Field("auto", description="torch device for training and inference: auto, cpu, cuda, cuda:N")
    api_threads: int = Field(1, ge=1, description="torch intra-op threads in an API process.")
    worker_threads: int = Field(0, ge=0, description="torch threads in a worker; 0 = torch default.")
    compute_concurrency: int = Field(0, ge=0, description="Compute-heavy requests (sampling, AIS, likelihoods, "
                                     "features, pictures) one API process runs at once; more wait in a queue "
                                     "without a thread, so the event loop and /healthz stay responsive. "
                                     "0 = the number of CPUs this process may use.")

    # -- job queue ---------------------------------------------------------------------------
    worker_poll_seconds: float = Field(0.5, gt=0, description="How often an idle worker looks for jobs.")
    lease_seconds: float = Field(60.0, gt=0, description="A running job whose lease is older is requeued.")
    heartbeat_seconds: float = Field(10.0, gt=0, description="How often a worker renews its lease.")
    max_attempts: int = Field(3, ge=1, description="Claims per job before a lost job is failed.")
    worker_restart_seconds: float = Field(1.0, gt=0, description="`serve` restarts a dead embedded worker after "
                                          "this long, doubling while it keeps dying young.")
    worker_restart_max_seconds: float = Field(30.0, gt=0, description="Longest wait before restarting a dead "
                                              "embedded worker.")
    checkpoint_seconds: float = Field(
        0.0, ge=0, description="Write a training checkpoint at most this often (0: after every epoch). "
        "Epochs of a small model take well under a second; a larger value keeps checkpoint I/O out of "
        "training time at the cost of redoing up to this much work after a lost worker.")
    sse_poll_seconds: float = Field(0.5, gt=0, le=60, description="How often a job's event stream "
                                    "(GET /v1/jobs/{id}/events) looks for new events in the database.")
    sse_heartbeat_seconds: float = Field(15.0, gt=0, description="Idle event streams send a comment this often, "
                                         "so proxies keep the connection open.")

    # -- access ------------------------------------------------------------------------------
    require_auth: bool = Field(False, description="Demand an API key even while none exists (else: "
                               "auth turns on with the first key).")
    allow_open: bool = Field(False, description="Let `serve` bind a non-loopback address with no API keys.")
    allowed_hosts: Annotated[list[str] | None, NoDecode] = Field(None, description="Host header values this server answers "
                                            "(comma separated in RBM_ALLOWED_HOSTS, '*' for any); default: the "
                                            "loopback names when RBM_HOST is loopback, else any.")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Web origins (https://app.example) "
                                    "whose pages may call this API from a browser; default: none (cross-origin "
                                    "writes are refused with 403).")
    idempotency_ttl_seconds: float = Field(86_400.0, gt=0, description="How long an Idempotency-Key's "
                                           "first response is kept for replay.")

    # -- limits (each refused with a 413/422 that names the setting) -------------------------
    max_concurrent_jobs_per_key: int = Field(50, ge=1, description="Queued + running jobs one API key may own.")
    max_upload_bytes: int = Field(512 * 1024**2, description="Largest dataset or weights upload.")
    max_request_bytes: int = Field(64 * 1024**2, description="Largest JSON request body.")
    max_dataset_rows: int = Field(2_000_000, description="Rows in one dataset.")
    max_features: int = Field(100_000, description="Columns (visible units) in one dataset.")
    max_dataset_values: int = Field(134_217_728, ge=1, description="Rows x columns of one dataset split "
                                    "(512 MiB as float32); also bounds each .npz member's decompressed size.")
    max_vectors_per_request: int = Field(100_000, description="Vectors in one inference request.")
    max_answer_values: int = Field(4_194_304, ge=1, description="Numbers in one array answer (rows x width: "
                                   "samples, hidden, reconstruct, features); JSON takes ~20 bytes a number, binary 4.")
    max_samples_per_request: int = Field(10_000, description="Samples in one sampling request.")
    max_sampling_steps: int = Field(100_000, description="Gibbs/Metropolis sweeps in one request.")
    max_sampling_work: int = Field(
        2_000_000_000, description="n_chains x replicas x sweeps x n_visible per sampling request."
    )
    sampling_default_steps: int = Field(1000, ge=0, description="Burn-in sweeps of a sampling request that names "
                                        "its sampler but not `steps`.")
    sampling_auto_steps: int = Field(1000, ge=1, description="sampler='auto' without `steps`: at most this many "
                                     "sweeps in all (fewer when RBM_SYNC_MAX_SECONDS allows fewer).")
    sampling_pt_replicas: int = Field(16, ge=1, le=256, description="Parallel tempering: replicas per chain when "
                                      "the request gives neither n_replicas nor betas.")
    final_evaluation_seconds: float = Field(600.0, ge=0, description="End of every training job: at most this "
                                            "long for the final evaluation (equilibrium samples by parallel "
                                            "tempering, exact log-likelihood or a forward + reverse AIS bracket), "
                                            "which gets a quarter of the training's estimated cost (at least 10 s); "
                                            "0 turns it off.")
    sampling_auto_pt_chains: int = Field(64, ge=1, description="sampler='auto' (parallel tempering): at most this "
                                         "many chains, thinned to collect the samples.")
    max_hidden: int = Field(10_000, description="Hidden units in one model.")
    max_model_parameters: int = Field(100_000_000, ge=1, description="n_visible x n_hidden of one model "
                                      "(trained or uploaded): 400 MB of float32 weights.")
    max_classes: int = Field(1000, ge=2, description="Classes a dataset's labels may have.")
    max_dbn_layers: int = Field(8, ge=1, description="Hidden layers in one DBN job.")
    probe_max_rows: int = Field(20_000, ge=10, description="Linear probe at the end of a job on labelled data: at "
                                "most this many training rows fit the logistic regression and as many test rows "
                                "score it (a seeded subsample), so the probe stays a few seconds to a minute.")
    probe_max_iter: int = Field(300, ge=10, description="Linear probe: L-BFGS iterations of the logistic regression.")
    max_feature_values: int = Field(20_000_000, ge=1, description="POST /v1/models/{id}/features: rows x features "
                                    "in one answer (80 MB as float32).")
    max_epochs: int = Field(10_000, description="Epochs in one job.")
    exact_log_z_max_bits: int = Field(24, ge=1, le=30, description="Exact log Z enumerates at most 2^this terms.")
    auto_exact_bits: int = Field(20, ge=1, le=30, description="method='auto' uses exact log Z up to 2^this states, AIS above.")
    kl_max_visible: int = Field(20, ge=1, le=26, description="KL divergence enumerates at most 2^this visible states.")
    max_ais_work: int = Field(10_000_000, description="AIS runs x betas per request.")
    sync_max_seconds: float = Field(30.0, gt=0, description="A synchronous estimation or sampling request whose "
                                    "estimated compute time exceeds this answers 413 and names the job kind to use.")
    sync_work_rate: float = Field(1e10, gt=0, description="Multiply-adds per second an API process is assumed to "
                                  "do when it estimates a request's time (RBM_SYNC_MAX_SECONDS); raise it on a faster "
                                  "machine.")
    max_estimate_job_work: float = Field(1e13, gt=0, description="Multiply-adds one estimation job may need "
                                         "(AIS: 2 x runs x betas x n_visible x n_hidden per direction).")
    compare_max_jobs: int = Field(50, ge=2, description="Jobs in one GET /v1/jobs/compare or curves.png?ids= overlay.")
    sweep_max_jobs: int = Field(100, ge=1, description="Jobs one sweep may create (grid points or random samples).")
    model_cache_size: int = Field(16, ge=1, description="Models kept loaded in an API process (LRU).")
    model_cache_bytes: int = Field(512 * 2**20, ge=1, description="Bytes of model tensors kept loaded in an API "
                                   "process (LRU; the model in use always stays, however big).")
    inference_batch_rows: int = Field(4096, ge=1, description="Free energy: concurrent queries to one model are "
                                      "micro-batched into one product of at most this many rows.")
    inference_batch_wait_ms: float = Field(2.0, ge=0, description="Free energy: how long a query waits for others "
                                           "to join its batch (0: no micro-batching).")
    # -- variational Monte Carlo (kind `vmc`, wavefunction models) ----------------------------
    vmc_max_spins: int = Field(64, ge=2, description="Spins N of a tfim/heisenberg chain in a vmc job.")
    vmc_max_coordinates: int = Field(30, ge=1, description="Coordinates P x D of a harmonic_trap in a vmc job.")
    vmc_max_params: int = Field(4096, ge=1, description="Variational parameters of a vmc ansatz (SR solves a "
                                "params x params system each iteration).")
    vmc_max_work: float = Field(1e12, gt=0, description="A vmc job's (iterations x n_samples + eval_samples) x "
                                "n_visible x n_hidden.")
    vmc_max_iteration_values: int = Field(200_000_000, ge=1, description="A vmc job's n_samples x parameters: the "
                                          "log-derivative matrix of one iteration (8 bytes each).")
    vmc_max_energy_work: float = Field(1e9, gt=0, description="POST /v1/models/{id}/energy and /samples of a "
                                       "wavefunction: n_samples x max(n_visible x n_hidden, 256), sweeps included "
                                       "(1e9: 1.25 M samples of a 20-spin alpha-2 RBM, ~30 s on one core).")

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """RBM_ALLOWED_HOSTS=a.example,b.example (a JSON list works too)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """Settings that only make sense together; the message names the setting to change."""
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(f"RBM_LEASE_SECONDS={self.lease_seconds:g} must be at least twice "
                             f"RBM_HEARTBEAT_SECONDS={self.heartbeat_seconds:g}: a shorter lease expires between "
                             "two heartbeats and healthy workers take each other's jobs. Raise "
                             "RBM_LEASE_SECONDS or lower RBM_HEARTBEAT_SECONDS")
        if self.worker_restart_max_seconds < self.worker_restart_seconds:
            raise ValueError(f"RBM_WORKER_RESTART_MAX_SECONDS={self.worker_restart_max_seconds:g} must be at least "
                             f"RBM_WORKER_RESTART_SECONDS={self.worker_restart_seconds:g}")
        if self.max_upload_bytes < 1 or self.max_request_bytes < 1:
            raise ValueError("RBM_MAX_UPLOAD_BYTES and RBM_MAX_REQUEST_BYTES must be positive")
        return self

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if self.artifact_dir is None:
            self.artifact_dir = self.data_dir / "artifacts"
        if self.database_url is None:
            self.database_url = f"sqlite:///{(self.data_dir / 'rbm.sqlite3').resolve()}"
        return self

    @property
    def resolved_database_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def resolved_artifact_dir(self) -> Path:
        assert self.artifact_dir is not None
        return self.artifact_dir


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
