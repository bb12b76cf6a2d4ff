"""Requests and answers of the query endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.apidocs.examples import BARS_STRIPES_2, DIGIT_ZERO, DIGITS_ROWS

Vectors = list[list[float]]


class VectorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": DIGITS_ROWS}]})

    data: Vectors = Field(description="Visible vectors, one per row, each of length n_visible.")


class LayerVectorsIn(VectorsIn):
    layer: int | None = Field(None, ge=0, description="DBN: hidden layer k (1 = the first; default the top; 0 = "
                              "the input). An RBM has layer 1 only.")


class FreeEnergyOut(BaseModel):
    free_energy: list[float] = Field(description="F(v) per row; p(v) = exp(-F(v)) / Z.")


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"n_samples": 16, "seed": 1},
        {"n_samples": 16, "sampler": "pt", "n_replicas": 16, "steps": 500, "seed": 1}]})

    n_samples: int = Field(10, ge=1, description="Samples to return (limit: RBM_MAX_SAMPLES_PER_REQUEST).")
    steps: int | None = Field(None, ge=0, description="Sweeps before each chain's first sample (limit: "
                              "RBM_MAX_SAMPLING_STEPS); default: chosen with the sampler (see `sampler`).")
    thin: int | None = Field(None, ge=1, description="Sweeps between consecutive samples of one chain; default 1, "
                             "or chosen by `auto`.")
    n_chains: int | None = Field(None, ge=1, description="Chains run in parallel; default: one chain per sample "
                                 "(auto: fewer chains, thinned, when that keeps the request in budget).")
    sampler: Literal["auto", "gibbs", "metropolis", "pt"] = Field(
        "auto", description="gibbs: block Gibbs v->h->v; metropolis: Metropolis-Hastings on p(v) (one sweep = "
        "n_visible proposals); pt: parallel tempering, `n_replicas` block-Gibbs replicas from beta down to a "
        "base-rate model with one swap round per sweep; auto (default): pt on a few chains, thinned, started "
        "from the model's stored equilibrium chains when it has them, with as many sweeps as "
        "RBM_SYNC_MAX_SECONDS allows. The answer says what was used.")
    n_replicas: int | None = Field(None, ge=1, le=256, description="pt: replicas per chain (default 16); "
                                   "work counts chains x replicas x sweeps.")
    betas: list[float] | None = Field(None, min_length=1, max_length=256, description="pt: explicit ladder, "
                                      "strictly decreasing from the target beta (first) to the hottest (last; 0 is "
                                      "the base-rate model); overrides n_replicas and beta.")
    init: Literal["auto", "random", "chains", "data", "vectors"] = Field(
        "auto", description="Chain starts: chains (the persistent chains stored with the model by its training "
        "job), random, rows of `dataset_id`, or the given `vectors`; auto: chains when the model has them, "
        "else random.")
    dataset_id: str | None = Field(None, description="With init='data'.")
    vectors: Vectors | None = Field(None, description="With init='vectors': starting states, cycled over the chains.")
    seed: int | None = Field(None, ge=0, lt=2**63, description="Random seed; returned so a draw can be repeated.")
    beta: float = Field(1.0, gt=0, le=100, description="Inverse temperature: sample p(v) ∝ exp(-beta F(v)).")
    return_hidden: bool = Field(False, description="Also return a hidden sample per visible sample.")


class DiagnosticsOut(BaseModel):
    """Equilibrium check of a sample set, from the free energy F(v) of up to 128 chains at every sweep."""

    scalar: str = Field(description="What was traced per chain and sweep (free_energy: F(v) at beta = 1).")
    rhat: float | None = Field(description="Split R-hat over the second half of the trace (1 = chains agree).")
    tau: float | None = Field(description="Integrated autocorrelation time in sweeps (Sokal window).")
    ess: float | None = Field(description="Effective sample size of the traced chains' second half.")
    n_chains: int = Field(description="Chains traced.")
    analysed_sweeps: int
    steps: int = Field(description="Sweeps each chain ran.")
    tau_reliable: bool = Field(description="False when the trace was too short to find the Sokal window "
                               "(tau is then a lower bound).")
    equilibrated: bool = Field(description="True when `rule` holds.")
    rule: str


class SampleOut(BaseModel):
    samples: Vectors
    hidden: Vectors | None = None
    acceptance_rate: float | None = Field(None, description="Metropolis only: accepted / proposed moves.")
    swap_acceptance: list[float] | None = Field(None, description="pt only: accepted / attempted swaps of each "
                                                "neighbouring replica pair (betas[r], betas[r+1]).")
    betas: list[float] | None = Field(None, description="pt only: the ladder used.")
    diagnostics: DiagnosticsOut
    seed: int
    sampler: str = Field(description="The sampler used (auto resolved).")
    steps: int = Field(description="Burn-in sweeps used.")
    thin: int
    n_chains: int
    n_replicas: int | None = None
    init: str = Field(description="The chain starts used (auto resolved).")


class DataSource(BaseModel):
    """Vectors given inline, or rows of a stored dataset: the shared input of the estimators."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": DIGITS_ROWS}]})

    data: Vectors | None = Field(None, description="Visible vectors, one per row.")
    dataset_id: str | None = Field(None, description="Use this dataset's rows instead of `data`.")
    split: Literal["train", "test"] = Field("train", description="With dataset_id: which split.")
    limit: int | None = Field(None, ge=1, description="With dataset_id: use at most this many rows (the first ones).")


class HiddenOut(BaseModel):
    probabilities: Vectors = Field(description="p(h_j = 1 | v) per row.")


class ReconstructionOut(BaseModel):
    reconstruction: Vectors = Field(description="E[v | h] with h = p(h | v): the mean-field reconstruction.")


class PartitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"method": "auto", "seed": 0}]})

    method: Literal["exact", "ais", "auto"] = Field("auto", description="auto: exact when the enumerated layer "
                                                    "has at most RBM_AUTO_EXACT_BITS units, else AIS.")
    n_runs: int = Field(100, ge=2, le=100_000, description="AIS: independent annealing runs.")
    n_betas: int = Field(10_000, ge=10, le=1_000_000, description="AIS: intermediate inverse temperatures.")
    seed: int = Field(0, ge=0, lt=2**63)
    dataset_id: str | None = Field(None, description="AIS: data for the base-rate model and the reverse run; "
                                   "default: the model's training data, if any.")


class PartitionOut(BaseModel):
    log_z: float
    log_z_std: float = Field(description="0 for exact; for AIS the standard error of the forward estimate.")
    method: Literal["exact", "ais"]
    seconds: float = Field(description="Compute time of the first (uncached) evaluation.")
    cached: bool
    log_z_reverse: float | None = Field(None, description="AIS: reverse estimate (tends to lie above the truth, "
                                        "the forward one below): together a bracket.")
    log_z_reverse_std: float | None = None


class LikelihoodRequest(DataSource, PartitionRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": [DIGIT_ZERO], "method": "auto"}]})


class LikelihoodOut(BaseModel):
    log_likelihood: list[float] = Field(description="log p(v) = -F(v) - log Z per row (nats; a log-density for gaussian).")
    mean: float
    log_z: float
    log_z_std: float
    method: str = Field(description="RBM: exact or ais. DBN: 'variational lower bound, AIS on the top RBM' (or "
                        "'..., exact log Z of the top RBM'): `log_likelihood` is then a lower bound per row.")
    mean_reverse: float | None = Field(None, description="AIS with data: the mean log-likelihood under the reverse "
                                       "log Z estimate; with `mean` a bracket (forward tends low on log Z, so high "
                                       "here; reverse the other way).")
    bound_std: list[float] | None = Field(None, description="DBN: Monte-Carlo standard error of each row's bound.")
    log_z_reverse: float | None = Field(None, description="DBN with AIS: the top RBM's reverse log Z estimate.")


class PseudoLikelihoodOut(BaseModel):
    pseudo_log_likelihood: list[float] = Field(description="sum_i log p(v_i | v_-i) per row, over all sites.")
    mean: float


class KLRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        # all 2^V states are enumerated: this example fits a 4-unit model (built-in bars-and-stripes, n=2),
        # not the README's 64-unit digits model (2^64 states; the limit is RBM_KL_MAX_VISIBLE)
        "examples": [{"probabilities": BARS_STRIPES_2}]})

    probabilities: list[float] | None = Field(None, description="Target p over all 2^n_visible states, in binary "
                                              "counting order with visible unit 0 as the most significant bit.")
    dataset_id: str | None = Field(None, description="Use this dataset's empirical distribution as the target.")
    split: Literal["train", "test"] = "train"


class KLOut(BaseModel):
    kl_divergence: float = Field(description="KL(target || model) in nats.")
    log_z: float
    n_states: int
