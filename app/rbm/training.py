"""Contrastive-divergence (CD-k) and persistent-CD training, written out by hand.

The log-likelihood gradient of a parameter ``theta`` is::

    d log p(v) / d theta = < -dF/dtheta >_data - < -dF/dtheta >_model

with ``p(h | v)`` summed out analytically (Rao-Blackwellised statistics).
Per parameter, ``-dF/dtheta`` is (``ph = p(h = 1 | v)``, ``u = v / s^2`` for
gaussian visibles, ``u = v`` for bernoulli)::

    weight        u_i ph_j
    visible_bias  bernoulli: v_i         gaussian: (v_i - a_i) / s_i^2
    hidden_bias   ph_j
    log_sigma     (v_i - a_i)^2 / s_i^2 - 2 v_i (W ph)_i / s_i^2      (gaussian)

The data term uses the mini-batch; the model term uses CD-k chains started
at the batch or PCD chains that persist across updates. Updates::

    g      = positive - negative - weight_decay * W (weights only)
             + sparsity: sparsity_cost * (target - mean ph_data) on b_j and,
               times the mean of u_i, on W_ij (Hinton's practical-guide rule)
    vel    = momentum * vel + lr_t * g
    theta += vel

``lr_t`` follows ``lr_schedule`` over all updates of ``epochs`` epochs.

Centering (``centering=True``; Melchior, Fischer & Wiskott 2016, "How to center
deep Boltzmann machines", Algorithm 1). The energy is written with offsets
``mu`` (visible, the training-data mean of ``u``, fixed) and ``lam`` (hidden, a
moving average of the data's ``p(h | v)`` with slide ``0.01``, started at 0.5)::

    E_c = -(u - mu).W.(h - lam) - b_c.(u - mu) - c_c.(h - lam)     (bernoulli form)
    standard parameters:  a = b_c - W lam,   b = c_c - W^T mu   (+ a constant)

and the gradient is taken in ``(W, b_c, c_c)``. With ``G`` the standard
statistics above (data minus model)::

    g_W = G_W - mu G_b^T - G_a lam^T,   g_bc = G_a,   g_cc = G_b

Momentum acts on the centred step ``vel``; parameters stay stored in the
standard form (so every other module is unchanged) and move by
``dW = vel_W, da = vel_a - vel_W lam, db = vel_b - vel_W^T mu``. Moving the
offsets leaves the standard parameters (the model) unchanged, which is
exactly the paper's bias re-parameterisation.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Literal
from collections.abc import Callable

import torch

from app.rbm.errors import InvalidInput, TooLarge, TrainingDiverged
from app.rbm.likelihood import free_energy_chunked, pseudo_log_likelihood
from app.rbm.model import RBM, BernoulliRBM, GaussianRBM, _all_rows, softplus
from app.rbm.partition import exact_log_partition
from app.rbm.sampling import GibbsChains
from app.rbm.tempering import TemperedChains, base_from_data, default_betas

#: The split/monitor generator is seeded with ``seed + _SPLIT_SEED_OFFSET`` so
#: that it does not replay the training generator's stream.
_SPLIT_SEED_OFFSET = 1_000_003
#: Sliding factor of the hidden offset's moving average (Melchior et al. 2016 use 0.01).
_CENTERING_SLIDE = 0.01
#: A parameter (or step) this large has diverged, even before it is NaN or infinite.
_DIVERGED_ABOVE = 1e12
#: Default ``sigma_learning_rate / learning_rate`` (log sigma has its own step size, Cho et al. 2011).
_SIGMA_LR_RATIO = 0.1
#: The same for a whitened model (``GaussianRBM.whitened``): its sigma starts below the whitened
#: data's spread of 1 and must stay there while W grows out of the full-covariance Gaussian; at 0.1
#: sigma won that race in 5 of 8 dequantised-digits runs (test LL stuck at the Gaussian's 50.1), at
#: 0.01 W won in all 4 (53.3-53.6; bench/README.md).
_WHITEN_SIGMA_LR_RATIO = 0.01
#: Learning rate when none is given: DEFAULT_LEARNING_RATE, and for gaussian visibles at most
#: GAUSSIAN_LR_TIMES_HIDDEN / n_hidden. A gaussian model's weight steps feed back through all its
#: hidden units (v | h ~ N(a + W h, s^2), inputs v / s^2), so the stable rate falls with their number:
#: on MNIST (whitened, 10,000 rows) 64 hidden trained at 0.1, 500 hidden diverged within 20 updates
#: at 0.1 and 0.05 (also with CD, without centring, without momentum) and in epoch 2 at 0.02, and
#: trained 150 epochs at 0.01 and 0.005 (bench/README.md, Gaussian section).
DEFAULT_LEARNING_RATE, GAUSSIAN_LR_TIMES_HIDDEN = 0.1, 5.0


def default_learning_rate(model: RBM) -> float:
    """The learning rate used when a config leaves it unset (see GAUSSIAN_LR_TIMES_HIDDEN)."""
    if isinstance(model, GaussianRBM):
        return min(DEFAULT_LEARNING_RATE, GAUSSIAN_LR_TIMES_HIDDEN / model.n_hidden)
    return DEFAULT_LEARNING_RATE


@dataclass
class TrainingConfig:
    """Hyper-parameters of :class:`Trainer`; defaults train 8x8 digits / MNIST well.

    ``method``: ``cd`` (chains restart at the batch), ``pcd`` (persistent Gibbs chains), ``pt``
    (persistent parallel-tempering chains, :mod:`app.rbm.tempering`: ``n_replicas`` replicas from
    beta = 1 down to the data's base rate, ``k`` sweeps with a swap round each per update; the
    negative phase reads the beta = 1 replica). ``n_chains``: PCD / PT chains (default ``batch_size``). ``monitor_size``: rows of
    the training (and validation) set on which per-epoch metrics are computed;
    the pseudo-likelihood, which costs ~V softplus passes per row, uses only the
    first ``max(8, N // 1500)`` of them so metrics stay a few percent of an epoch.
    ``exact_limit_bits``: exact log-likelihood metrics are reported when the
    smaller layer (bernoulli) / hidden layer (gaussian) has at most this many
    units and the ``2^bits`` enumeration is cheap next to an epoch (always when
    ``bits <= 10``, else when ``2^bits * width <= 0.02 * N * V * H``).
    ``average_tail``: the run returns the mean of its parameters over this last fraction of the
    updates (unset: :func:`default_average_tail`).
    ``centering``: centred gradient (see the module docs); parameters are still
    stored in the standard form. On by default: measured better on MNIST 784x16
    PCD (-149 vs -167 nats after 20 epochs) and no worse on digits (bench/README.md).
    ``epochs=30`` with ``lr_schedule="cosine"`` (was 10, constant): MNIST 784x16 PCD exact
    test LL -149.1 -> -136.7 nats, 8x8 digits 64x16 -22.4 -> -21.5 (bench/README.md, Quality).
    """

    method: Literal["cd", "pcd", "pt"] | None = None
    k: int = 1
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    momentum: float = 0.5
    weight_decay: float = 1e-4
    sparsity_target: float | None = None
    sparsity_cost: float = 0.0
    learn_sigma: bool | None = None
    sigma_learning_rate: float | None = None
    seed: int = 0
    validation_fraction: float = 0.0
    n_chains: int | None = None
    n_replicas: int = 10
    average_tail: float | None = None
    monitor_size: int = 1000
    exact_limit_bits: int = 20
    centering: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.method not in (None, "cd", "pcd", "pt"):
            raise ValueError(f"method must be 'cd', 'pcd' or 'pt', got {self.method!r}")
        if self.lr_schedule not in ("constant", "linear", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant', 'linear' or 'cosine', got {self.lr_schedule!r}")
        checks = [
            (self.k >= 1, "k must be >= 1"),
            (self.epochs is None or self.epochs >= 0, "epochs must be >= 0"),
            (self.batch_size is None or self.batch_size >= 1, "batch_size must be >= 1"),
            (self.learning_rate is None or (self.learning_rate > 0 and math.isfinite(self.learning_rate)),
             "learning_rate must be positive"),
            (0.0 <= self.momentum < 1.0, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.sparsity_cost >= 0, "sparsity_cost must be >= 0"),
            (self.sparsity_target is None or 0.0 < self.sparsity_target < 1.0, "sparsity_target must be in (0, 1)"),
            (0.0 <= self.validation_fraction < 1.0, "validation_fraction must be in [0, 1)"),
            (self.n_chains is None or self.n_chains >= 1, "n_chains must be >= 1"),
            (self.n_replicas >= 2, "n_replicas must be >= 2 (method 'pt' tempers between the model and a base rate)"),
            (self.average_tail is None or 0.0 <= self.average_tail < 1.0, "average_tail must be in [0, 1)"),
            (self.monitor_size >= 1, "monitor_size must be >= 1"),
            (self.exact_limit_bits >= 0, "exact_limit_bits must be >= 0"),
            (self.sigma_learning_rate is None or (self.sigma_learning_rate > 0 and math.isfinite(self.sigma_learning_rate)),
             "sigma_learning_rate must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return asdict(self)

    def resolved(self, n_rows: int, gaussian: bool = False) -> TrainingConfig:
        """A copy with ``method`` (:func:`default_method`), then ``epochs`` / ``batch_size`` for
        ``n_rows`` training rows (:func:`default_schedule`) and ``average_tail``
        (:func:`default_average_tail`) filled in where they were left unset."""
        method = default_method(self.method, gaussian)
        epochs, batch = default_schedule(n_rows, self.epochs, self.batch_size, method)
        tail = self.average_tail if self.average_tail is not None else default_average_tail(method)
        return replace(self, method=method, epochs=epochs, batch_size=batch, average_tail=tail)


def default_method(method: str | None, gaussian: bool) -> str:
    """The negative phase a config's ``method`` means: as given; unset, pcd for gaussian visibles
    (bench/README.md, Gaussian section) and pt for bernoulli ones (issue 11 section)."""
    return method or ("pcd" if gaussian else "pt")


#: Unset ``average_tail`` with a persistent negative phase (pcd, pt): the model a run returns is the
#: mean of its parameters over the last 30 % of the updates (Polyak-Ruppert averaging), which removes
#: the noise the persistent chains leave in the last steps. MNIST 784x16 pcd defaults, exact test LL:
#: -135.40 -> -134.57 (seed 1: -136.30 -> -135.31); MNIST 784x500 pt defaults: on-pixels of the
#: default samples +17.8 % -> +6.6 % of the data's; Ising L=8 at T=2.5, energy per site from Kaufman's
#: by a parallel-tempering reference, seeds 0-3: 0.51 / 0.14 / 1.33 / 0.63 % -> 0.10 / 0.75 / 0.28 /
#: 0.16 % (bench/README.md, issue 11 section, session 7). Off for cd, where it was not measured.
PERSISTENT_AVERAGE_TAIL = 0.3


def default_average_tail(method: str) -> float:
    """The ``average_tail`` an unset config gets with the resolved ``method`` (see PERSISTENT_AVERAGE_TAIL)."""
    return 0.0 if method == "cd" else PERSISTENT_AVERAGE_TAIL


#: Unset ``batch_size``: 100 rows, but at most a tenth of the data (and at least 10 rows), so a
#: small data set still gets several updates per epoch.
DEFAULT_BATCH, MIN_AUTO_BATCH = 100, 10
#: Unset ``epochs``: at least MIN_EPOCHS passes and at least MIN_UPDATES parameter updates (a
#: 30-row data set needs thousands of updates: bars-and-stripes PT, 5,000 updates -3.49 nats and 93 %
#: valid samples, 15,000 -3.45 and 97 %; MNIST gets 18,000 in 30 epochs; bench/README.md).
MIN_EPOCHS, MIN_UPDATES = 30, 15000
#: ... and MIN_PCD_UPDATES with ``method: pcd``, whose update costs one Gibbs sweep where PT's costs
#: n_replicas: a PCD model fits weak correlations only after many small steps (Ising L=8 at T=2.5,
#: 20,000 rows, 64 hidden: 15,000 updates 2.41 % from Kaufman's energy, 60,000 updates 0.78 %;
#: bench/README.md, issue 11 section).
MIN_PCD_UPDATES = 60000


def default_schedule(n_rows: int, epochs: int | None = None, batch_size: int | None = None,
                     method: str = "pt") -> tuple[int, int]:
    """``(epochs, batch_size)`` for ``n_rows`` rows and the resolved ``method``, keeping any given
    value (see the constants)."""
    n_rows = max(1, int(n_rows))
    batch = batch_size if batch_size is not None else min(DEFAULT_BATCH, max(MIN_AUTO_BATCH, n_rows // 10))
    if epochs is None:
        updates = MIN_PCD_UPDATES if method == "pcd" else MIN_UPDATES
        epochs = max(MIN_EPOCHS, -(-updates // -(-n_rows // batch)))
    return int(epochs), int(batch)


def free_energy_gradient(model: RBM, v: torch.Tensor, weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Weighted mean of ``-dF/dtheta`` over rows of ``v : (n, V)``.

    ``weights : (n,)`` defaults to ``1/n``. Keys are :meth:`RBM.parameters`
    names. This is the reference form of the statistics that :class:`Trainer`
    accumulates in preallocated buffers (data term minus model term).
    """
    with torch.no_grad():
        n = v.shape[0]
        w = torch.full((n,), 1.0 / n, device=v.device, dtype=v.dtype) if weights is None else weights.to(v.dtype)
        ph = model.hidden_probs(v)
        u = model._scale_visible(v)
        out = {
            "weight": u.T @ (ph * w[:, None]),
            "hidden_bias": w @ ph,
        }
        if isinstance(model, GaussianRBM):
            inv_var = torch.exp(-2.0 * model.log_sigma)
            out["visible_bias"] = w @ ((v - model.visible_bias) * inv_var)
            recon = ph @ model.weight.T
            out["log_sigma"] = w @ (((v - model.visible_bias) ** 2 - 2.0 * v * recon) * inv_var)
        else:
            out["visible_bias"] = w @ v
        return out


def validate_training_data(model: RBM, data: torch.Tensor) -> None:
    """Like ``model.validate_input``, but binary units also take values in [0, 1]: they are read
    as probabilities, used as they are in the positive phase (the data term ``v_i p(h_j|v)``) and
    as the start of the negative chains, which then sample binary states (Hinton 2010, section 3.2;
    scikit-learn's BernoulliRBM does the same)."""
    if not isinstance(model, BernoulliRBM):
        model.validate_input(data)
        return
    RBM.validate_input(model, data)
    if not _all_rows(data, lambda c: (c >= 0) & (c <= 1)):
        lo, hi = float(data.min()), float(data.max())
        raise InvalidInput(
            f"a bernoulli model needs visible values in [0, 1] (binary, or probabilities); the data "
            f"spans [{lo:g}, {hi:g}]: rescale it to [0, 1] or use a gaussian model"
        )


def _is_binary(data: torch.Tensor) -> bool:
    return _all_rows(data, lambda c: (c == 0) | (c == 1))


@dataclass
class _Rows:
    """Statistics rows of one update (see :meth:`Trainer._rows`): ``n`` data rows, ``m`` model rows."""

    n: int
    m: int
    x: torch.Tensor
    y: torch.Tensor
    r: torch.Tensor
    ones: torch.Tensor


class Trainer:
    """Stateful mini-batch trainer; updates ``model``'s tensors in place.

    ``data : (N, V)`` training vectors (moved once to the model's device and
    dtype). ``validation : (M, V)`` optional; if absent and
    ``config.validation_fraction > 0`` a random split is held out using the seed.
    Everything random comes from one generator seeded with ``config.seed`` on
    the model's device, so runs are reproducible and resumable
    (:meth:`state_dict` / :meth:`load_state_dict`).
    """

    def __init__(
        self,
        model: RBM,
        data: torch.Tensor,
        config: TrainingConfig | None = None,
        *,
        validation: torch.Tensor | None = None,
    ) -> None:
        self.config = config = config or TrainingConfig()
        config.validate()
        if config.learning_rate is None:  # 0.1, less for a gaussian model with many hidden units
            self.config = config = replace(config, learning_rate=default_learning_rate(model))
        if config.learn_sigma and not isinstance(model, GaussianRBM):
            raise ValueError("learn_sigma=True needs a gaussian model")
        self._gaussian_model = isinstance(model, GaussianRBM)
        # None: on for gaussian models (bench/README.md, Gaussian section)
        self.learn_sigma = isinstance(model, GaussianRBM) if config.learn_sigma is None else config.learn_sigma
        validate_training_data(model, data)
        if data.shape[0] < 1:
            raise InvalidInput("training data is empty")
        self.model = model
        dev, dt = model.device, model.dtype
        data = data.to(device=dev, dtype=dt)

        split_gen = torch.Generator(device="cpu").manual_seed(config.seed + _SPLIT_SEED_OFFSET)
        if validation is not None:
            validate_training_data(model, validation)
            validation = validation.to(device=dev, dtype=dt)
        elif config.validation_fraction > 0:
            n_val = int(round(config.validation_fraction * data.shape[0]))
            if n_val < 1 or n_val >= data.shape[0]:
                raise InvalidInput(
                    f"validation_fraction={config.validation_fraction} of {data.shape[0]} rows leaves "
                    "an empty training or validation set"
                )
            perm = torch.randperm(data.shape[0], generator=split_gen).to(dev)
            validation, data = data[perm[:n_val]], data[perm[n_val:]]
        self.data = data
        self.validation = validation
        # [0,1] data on binary units: probabilities in the positive phase (no binary-only metrics)
        self._binary_data = not isinstance(model, BernoulliRBM) or _is_binary(data)
        mon = torch.randperm(data.shape[0], generator=split_gen)[: config.monitor_size].to(dev)
        self._monitor = data[mon]
        self._monitor_val = None if validation is None else validation[: config.monitor_size]
        # One PLL row costs V*H softplus (~300 GEMM flops each on a CPU) against ~10*V*H
        # flops per row of a CD-1 epoch: N // 1500 rows keeps it near 2% of an epoch.
        self._pll_rows = max(8, data.shape[0] // 1500)
        # A standardised gaussian model trains in standard units (z = (v - m) / c, GaussianRBM docs):
        # self.model and self.data are in those units; metrics and what fit() returns are in the
        # user's (self.user_model, synced after every epoch).
        self.user_model = model
        self._log_sigma_bounds = model.log_sigma_bounds(data) if self.learn_sigma else None
        sigma_lr = config.sigma_learning_rate
        default_ratio = _WHITEN_SIGMA_LR_RATIO if isinstance(model, GaussianRBM) and model.whitened else _SIGMA_LR_RATIO
        self._sigma_lr_ratio = default_ratio if sigma_lr is None else sigma_lr / config.learning_rate
        self.model = model = model.in_standard_units()
        self.data = data = self.user_model.to_standard_units(data)

        self.generator = torch.Generator(device=dev).manual_seed(config.seed)
        self._epoch = 0
        # unset method (by the visibles), epochs and batch size (from the data and the method)
        self.config = config = config.resolved(data.shape[0], self._gaussian_model)
        self._batches_per_epoch = -(-data.shape[0] // config.batch_size)
        self._total_steps = max(1, self._batches_per_epoch * config.epochs)

        params = model.parameters()
        self._trainable = [n for n in params if n != "log_sigma" or self.learn_sigma]
        self.velocity = {n: torch.zeros_like(params[n]) for n in self._trainable}
        # Polyak-Ruppert tail average (PERSISTENT_AVERAGE_TAIL): the running mean of the parameters
        # over updates >= _average_from, loaded into the model when the last epoch ends
        self.average = {n: torch.zeros_like(t) for n, t in params.items()} if config.average_tail else None
        self._average_from = math.ceil((1.0 - config.average_tail) * self._total_steps)
        self._averaged = 0
        # bias (and log sigma) statistics; the weight statistic goes straight into the velocity
        self.grads = {n: torch.zeros_like(params[n]) for n in params if n != "weight"}
        self._gaussian = isinstance(model, GaussianRBM)
        self._cd_chains: dict[int, GibbsChains] = {}
        self._stats: _Rows | None = None
        self._pos_u: torch.Tensor | None = None
        self._pos_ph: torch.Tensor | None = None
        self.chains: GibbsChains | TemperedChains | None = None
        # centring offsets: mu (V,) fixed at the data mean of u, lam (H,) a moving average
        self.visible_offset: torch.Tensor | None = None
        self.hidden_offset: torch.Tensor | None = None
        if config.centering:
            self.visible_offset = self._scaled(data).mean(dim=0)
            self.hidden_offset = torch.full((model.n_hidden,), 0.5, device=dev, dtype=dt)
        if config.method == "pcd":
            n_chains = config.n_chains or config.batch_size
            self.chains = GibbsChains(model, n_chains, generator=self.generator)
            start = torch.randint(data.shape[0], (n_chains,), generator=self.generator, device=dev)
            self.chains.v.copy_(data[start])
        elif config.method == "pt":
            n_chains = config.n_chains or config.batch_size
            self.chains = TemperedChains(model, n_chains, default_betas(config.n_replicas), generator=self.generator,
                                         base=base_from_data(model, data))
            start = torch.randint(data.shape[0], (n_chains,), generator=self.generator, device=dev)
            self.chains.v.copy_(data[start].repeat(config.n_replicas, 1))  # every replica starts at the data
            self._neg_ph = torch.empty((n_chains, model.n_hidden), device=dev, dtype=dt)
            self._neg_u = torch.empty((n_chains, model.n_visible), device=dev, dtype=dt) if self._gaussian else None

    # ---------------------------------------------------------------- state
    @property
    def epoch(self) -> int:
        """Number of epochs completed."""
        return self._epoch

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors needed to resume bit-identically (params, velocities, chains, RNG, epoch)."""
        state: dict[str, torch.Tensor] = {}
        for name, t in self.model.parameters().items():
            state[f"model.{name}"] = t.detach().clone()
        for name, t in self.velocity.items():
            state[f"velocity.{name}"] = t.clone()
        if self.chains is not None:
            state["chains.visible"] = self.chains.v.clone()
            if isinstance(self.chains, TemperedChains):  # the swap round's parity
                state["chains.sweeps"] = torch.tensor(self.chains.sweeps_done, dtype=torch.int64)
        if self.average is not None:
            for name, t in self.average.items():
                state[f"average.{name}"] = t.clone()
            state["average.count"] = torch.tensor(self._averaged, dtype=torch.int64)
        if self.hidden_offset is not None:
            state["centering.visible_offset"] = self.visible_offset.clone()
            state["centering.hidden_offset"] = self.hidden_offset.clone()
        state["generator_state"] = self.generator.get_state().clone()
        state["epoch"] = torch.tensor(self._epoch, dtype=torch.int64)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` output into this trainer (same config and data)."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(
                f"state dict keys do not match this trainer: missing {sorted(expected - set(state))}, "
                f"unexpected {sorted(set(state) - expected)}"
            )
        with torch.no_grad():
            for name, t in self.model.parameters().items():
                t.copy_(state[f"model.{name}"])
            for name, t in self.velocity.items():
                t.copy_(state[f"velocity.{name}"])
            if self.chains is not None:
                self.chains.v.copy_(state["chains.visible"])
                if isinstance(self.chains, TemperedChains):
                    self.chains.sweeps_done = int(state["chains.sweeps"])
            if self.average is not None:
                for name, t in self.average.items():
                    t.copy_(state[f"average.{name}"])
                self._averaged = int(state["average.count"])
            if self.hidden_offset is not None:
                self.visible_offset.copy_(state["centering.visible_offset"])
                self.hidden_offset.copy_(state["centering.hidden_offset"])
        self.generator.set_state(state["generator_state"].to("cpu", torch.uint8))
        self._epoch = int(state["epoch"])
        self.user_model.load_standard_units(self.model)

    # ------------------------------------------------------------- training
    def learning_rate_at(self, step: int) -> float:
        """Learning rate of global update ``step`` (0-based) under the schedule."""
        cfg = self.config
        progress = min(1.0, step / self._total_steps)
        if cfg.lr_schedule == "linear":
            return cfg.learning_rate * (1.0 - progress)
        if cfg.lr_schedule == "cosine":
            return cfg.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
        return cfg.learning_rate

    def fit(self, on_epoch: Callable[[int, dict[str, float]], bool | None] | None = None) -> RBM:
        """Train until ``config.epochs`` epochs are done (or ``on_epoch`` returns False)."""
        while self._epoch < self.config.epochs:
            metrics = self.run_epoch()
            if on_epoch is not None and on_epoch(self._epoch, metrics) is False:
                break
        return self.user_model

    def run_epoch(self) -> dict[str, float]:
        """One pass over shuffled mini-batches; returns the epoch's metrics."""
        cfg = self.config
        start = time.perf_counter()
        n = self.data.shape[0]
        with torch.no_grad():
            perm = torch.randperm(n, generator=self.generator, device=self.data.device)
            step0 = self._epoch * self._batches_per_epoch
            for b, lo in enumerate(range(0, n, cfg.batch_size)):
                idx = perm[lo : lo + cfg.batch_size]
                self._update(idx, self.learning_rate_at(step0 + b))
                if self.average is not None and step0 + b >= self._average_from:
                    self._accumulate_average()
                # gaussian units can blow up within one epoch: catch the first bad update, while the
                # units that caused it are still the only non-finite ones (one reduction per update)
                if self._gaussian and not abs(float(self.velocity["weight"].sum()) +
                                              float(self.model.log_sigma.sum())) < _DIVERGED_ABOVE:
                    self._check_finite(f"update {b + 1} of epoch {self._epoch + 1}")
        self._epoch += 1
        if self.average is not None and self._epoch == cfg.epochs and self._averaged:
            with torch.no_grad():
                for name, t in self.model.parameters().items():
                    t.copy_(self.average[name])
        self._check_finite()
        self.user_model.load_standard_units(self.model)
        train_seconds = time.perf_counter() - start
        metrics = self.compute_metrics()
        metrics["learning_rate"] = self.learning_rate_at(self._epoch * self._batches_per_epoch - 1)
        metrics["epoch_seconds"] = train_seconds
        if isinstance(self.chains, TemperedChains):  # this epoch's swap rates; a pair near 0 splits the ladder
            rates = self.chains.swap_acceptance
            metrics["pt_swap_acceptance_min"] = min(rates)
            metrics["pt_swap_acceptance_mean"] = sum(rates) / len(rates)
            self.chains.reset_swap_counts()
        metrics["metrics_seconds"] = time.perf_counter() - start - train_seconds
        return metrics

    def _accumulate_average(self) -> None:
        """Fold the current parameters into the running tail mean (one lerp per tensor)."""
        self._averaged += 1
        for name, t in self.model.parameters().items():
            self.average[name].lerp_(t, 1.0 / self._averaged)

    def persistent_chains(self) -> torch.Tensor | None:
        """The persistent chains' visible states at beta = 1 ``(n_chains, V)`` in the user's units
        (``None`` for CD): what the train runner stores beside the weights so sampling can start there."""
        if self.chains is None:
            return None
        return self.user_model.from_standard_units(self.chains.state.clone())

    def _cd_chain(self, rows: int) -> GibbsChains:
        ch = self._cd_chains.get(rows)
        if ch is None:
            ch = self._cd_chains[rows] = GibbsChains(self.model, rows, generator=self.generator)
        return ch

    # The statistics of one update live in two row blocks, data rows then model rows:
    #   x = [u_data; u_model] - mu                      (n + m, V)
    #   y = [ph_data - lam; s * (ph_model - lam)]        (n + m, H),  s = -n/m or -n * weights
    # so the (centred) weight statistic is one GEMM, x^T y / n, which the step fuses with momentum
    # (addmm into the velocity). Without centring mu = lam = 0 and this is the standard gradient.
    # The bias statistics are y^T 1 / n and x^T r / n with r = [1, ..., 1, s, ..., s] (the
    # offsets cancel because each side's weights sum to one).
    def _rows(self, n: int, m: int) -> _Rows:
        """The statistics buffers for ``n`` data rows and ``m`` model rows (reused while the sizes hold)."""
        rows = self._stats
        if rows is None or (rows.n, rows.m) != (n, m):
            mdl = self.model
            kw = {"device": mdl.device, "dtype": mdl.dtype}
            rows = self._stats = _Rows(n, m, x=torch.empty((n + m, mdl.n_visible), **kw),
                                       y=torch.empty((n + m, mdl.n_hidden), **kw), r=torch.ones(n + m, **kw),
                                       ones=torch.ones(n + m, **kw))
        return rows

    def _centred(self, src: torch.Tensor, offset: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
        return out.copy_(src) if offset is None else torch.sub(src, offset, out=out)

    def _load_positive(self, v: torch.Tensor, ph: torch.Tensor, u: torch.Tensor, model_rows: int) -> None:
        """Data rows of the statistics: ``v, u : (n, V)``, ``ph : (n, H)``; ``model_rows`` sizes the rest."""
        n = v.shape[0]
        rows = self._rows(n, model_rows)
        self._centred(u, self.visible_offset, rows.x[:n])
        self._centred(ph, self.hidden_offset, rows.y[:n])
        if self._gaussian and self.learn_sigma:
            self.grads["log_sigma"].copy_(self._sigma_stat(v, ph))

    def _load_negative(self, v: torch.Tensor, ph: torch.Tensor, u: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        """Model rows (after :meth:`_load_positive`): chains with equal weight, or ``weights : (m,)``."""
        rows = self._stats
        n, m = rows.n, rows.m
        if v.shape[0] != m:
            raise ValueError(f"{v.shape[0]} model rows, but _load_positive was told {m}")
        xm, ym, rm = rows.x[n:], rows.y[n:], rows.r[n:]
        self._centred(u, self.visible_offset, xm)
        if self.hidden_offset is None:
            torch.neg(ph, out=ym)
        else:
            torch.sub(self.hidden_offset, ph, out=ym)
        if weights is None:
            rm.fill_(-n / m)
            if m != n:
                ym.mul_(n / m)
        else:
            torch.mul(weights, -n, out=rm)
            ym.mul_(weights[:, None]).mul_(n)
        if self._gaussian and self.learn_sigma:
            self.grads["log_sigma"].sub_(self._sigma_stat(v, ph, weights))

    def _bias_statistics(self) -> None:
        """``grads`` visible / hidden bias from the loaded rows (data minus model)."""
        rows = self._stats
        torch.mv(rows.x.T, rows.r, out=self.grads["visible_bias"]).mul_(1.0 / rows.n)
        torch.mv(rows.y.T, rows.ones, out=self.grads["hidden_bias"]).mul_(1.0 / rows.n)

    def _gradient(self) -> dict[str, torch.Tensor]:
        """The loaded rows' gradient in the trained parameterisation (centred when centring),
        before weight decay and sparsity; the reference for what :meth:`_step` applies (which
        never forms the weight gradient itself)."""
        rows = self._stats
        self._bias_statistics()
        return {**self.grads, "weight": torch.mm(rows.x.T, rows.y).mul_(1.0 / rows.n)}

    def _sigma_stat(self, v: torch.Tensor, ph: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over rows of ``-dF/dlog_sigma = ((v-a)^2 - 2 v (W ph)) / s^2``: ``-> (V,)``."""
        m = self.model
        inv_var = torch.exp(-2.0 * m.log_sigma)
        recon = ph @ m.weight.T
        per_row = (v - m.visible_bias).square_().sub_(recon.mul_(v).mul_(2.0))
        stat = per_row.mean(dim=0) if weights is None else weights @ per_row
        return stat.mul_(inv_var)

    def _scaled(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if not self._gaussian:
            return v
        inv_var = torch.exp(-2.0 * self.model.log_sigma)
        return torch.mul(v, inv_var, out=out) if out is not None else v * inv_var

    def _sparsity_wanted(self) -> bool:
        return self.config.sparsity_cost > 0 and self.config.sparsity_target is not None

    def _update(self, idx: torch.Tensor, lr: float) -> None:
        cfg, m = self.config, self.model
        rows = idx.shape[0]
        if cfg.method == "cd":
            ch = self._cd_chain(rows)
            v = torch.index_select(self.data, 0, idx, out=ch.v)
            ph = ch.hidden_probs()  # positive statistics come from the chain's first step
            u = self._scaled(v, ch._vs)
            n_model = rows
        else:
            ch = self.chains
            if self._pos_ph is None or self._pos_ph.shape[0] != rows:
                self._pos_v = torch.empty((rows, m.n_visible), device=m.device, dtype=m.dtype)
                self._pos_u = torch.empty_like(self._pos_v)
                self._pos_ph = torch.empty((rows, m.n_hidden), device=m.device, dtype=m.dtype)
            v = torch.index_select(self.data, 0, idx, out=self._pos_v)
            u = self._scaled(v, self._pos_u)
            torch.addmm(m.hidden_bias, u, m.weight, out=self._pos_ph)
            ph = torch.sigmoid(self._pos_ph, out=self._pos_ph)
            n_model = ch.n_chains
        sparse = self._sparsity_wanted()
        q = ph.mean(dim=0) if sparse or self.hidden_offset is not None else None
        if self.hidden_offset is not None:
            # centring: lam <- (1 - nu) lam + nu <p(h|v)>_batch, before the rows are centred
            self.hidden_offset.lerp_(q, _CENTERING_SLIDE)
        u_mean = u.mean(dim=0) if sparse else None  # now: the CD chain overwrites v (and u) below
        self._load_positive(v, ph, u, n_model)
        if cfg.method == "cd":
            for _ in range(cfg.k):
                ch.sample_hidden()
                ch.sample_visible()
                ch.hidden_probs()
        elif cfg.method == "pt":
            ch.sweep(cfg.k)
            vm = ch.state
            um = self._scaled(vm, self._neg_u)
            ph_m = torch.sigmoid_(torch.addmm(m.hidden_bias, um, m.weight, out=self._neg_ph))
            self._load_negative(vm, ph_m, um)
            self._step(lr, q if sparse else None, u_mean)
            return
        else:
            for _ in range(cfg.k):
                ch.hidden_probs()
                ch.sample_hidden()
                ch.sample_visible()
            ch.hidden_probs()
        self._load_negative(ch.v, ch.ph, self._scaled(ch.v, ch._vs))
        self._step(lr, q if sparse else None, u_mean)

    def _step(self, lr: float, q: torch.Tensor | None, u_mean: torch.Tensor | None) -> None:
        """Momentum step from the loaded rows, with weight decay, sparsity and (centring).

        ``vel_W = momentum vel_W + lr (x^T y / n - decay W [+ (u_mean - mu) push^T])`` is one GEMM
        plus one pass; centred steps map back to the stored standard form by
        ``da = vel_a - vel_W lam, db = vel_b - vel_W^T mu``.
        """
        cfg, g, rows = self.config, self.grads, self._stats
        params = self.model.parameters()
        self._bias_statistics()
        vw = self.velocity["weight"]
        torch.addmm(vw, rows.x.T, rows.y, beta=cfg.momentum, alpha=lr / rows.n, out=vw)
        if cfg.weight_decay:
            vw.add_(params["weight"], alpha=-lr * cfg.weight_decay)
        if q is not None:
            push = q.neg_().add_(cfg.sparsity_target).mul_(cfg.sparsity_cost)  # cost * (target - q)
            g["hidden_bias"].add_(push)
            if self.visible_offset is not None:
                u_mean = u_mean.sub_(self.visible_offset)
            vw.addr_(u_mean, push, alpha=lr)
        for name in self._trainable:
            if name != "weight":
                step = lr * self._sigma_lr_ratio if name == "log_sigma" else lr
                self.velocity[name].mul_(cfg.momentum).add_(g[name], alpha=step)
        if self.hidden_offset is not None:
            params["visible_bias"].addmv_(vw, self.hidden_offset, alpha=-1.0)
            params["hidden_bias"].addmv_(vw.T, self.visible_offset, alpha=-1.0)
        for name in self._trainable:
            params[name].add_(self.velocity[name])
        if self._log_sigma_bounds is not None:
            torch.clamp(params["log_sigma"], *self._log_sigma_bounds, out=params["log_sigma"])

    def _check_finite(self, where: str | None = None) -> None:
        """Raise :class:`TrainingDiverged` naming the parameter, the units and the likely cause."""
        where = where or f"epoch {self._epoch}"
        tensors = {**self.model.parameters(), **{f"step of {n}": v for n, v in self.velocity.items()}}
        for name, t in tensors.items():
            bad = ~(t.abs() < _DIVERGED_ABOVE)  # NaN, infinite, or on its way there
            if bool(bad.any()):
                raise TrainingDiverged(f"training diverged at {where}: {self._divergence_cause(name, bad)}")

    def _divergence_cause(self, name: str, bad: torch.Tensor) -> str:
        """Which units went non-finite in ``name`` and why (sigma, data scale, or step size)."""
        cfg = self.config
        hidden_only = name.endswith("hidden_bias")
        rows = bad if bad.dim() == 1 else bad.any(dim=1)
        units = torch.nonzero(rows).flatten()[:5].tolist()
        kind = "hidden" if hidden_only else "visible"
        what = f"{name!r} became NaN, infinite or larger than {_DIVERGED_ABOVE:g} at {kind} unit(s) {units}"
        lr_hint = f"lower learning_rate (now {cfg.learning_rate}) or momentum (now {cfg.momentum})"
        if hidden_only or not self._gaussian:
            return f"{what}; {lr_hint}"
        with torch.no_grad():
            idx = torch.tensor(units, device=self.data.device)
            cols = self.data.index_select(1, idx).to(torch.float64)
            spread = cols.std(dim=0) if cols.shape[0] > 1 else cols.abs().max(dim=0).values
            peak = cols.abs().max(dim=0).values
            sigma = torch.exp(self.model.log_sigma.index_select(0, idx).to(torch.float64))
        units_txt = ", ".join(f"unit {u}: sigma {s:.3g}, data std {d:.3g}, max |v| {p:.3g}"
                              for u, s, d, p in zip(units, sigma.tolist(), spread.tolist(), peak.tolist()))
        if name.endswith("log_sigma"):
            return (f"{what} ({units_txt}; in the trained units): the log sigma steps of these units ran away; "
                    f"lower sigma_learning_rate (now {cfg.learning_rate * self._sigma_lr_ratio:.3g}) or set "
                    f"learn_sigma to false")
        if self.learn_sigma and bool((sigma.nan_to_num(0.0) < 0.1 * spread).any()):
            sig_lr = cfg.learning_rate * self._sigma_lr_ratio
            return (f"{what} ({units_txt}; in the trained units): learned sigma shrank far below the data's "
                    f"spread, and 1/sigma^2 multiplies those units' inputs; lower sigma_learning_rate (now "
                    f"{sig_lr:.3g}) or set learn_sigma to false")
        if not self.user_model.standardized and bool(((peak > 10.0) | (spread > 10.0) | (spread < 0.1)).any()):
            return (f"{what} ({units_txt}): the data is not standardised and these units' values are on a "
                    f"scale the step sizes do not suit; set model.standardize to 'whiten' (the default) or true, or "
                    f"rescale the data")
        return f"{what} ({units_txt}; in the trained units); {lr_hint}"

    # -------------------------------------------------------------- metrics
    def _exact_ll_affordable(self) -> bool:
        m = self.model
        bits = m.n_hidden if self._gaussian else min(m.n_visible, m.n_hidden)
        if bits > self.config.exact_limit_bits:
            return False
        width = m.n_visible if self._gaussian else max(m.n_visible, m.n_hidden)
        # Enumeration costs ~2^bits * width softplus (~1 ns each on a CPU core); an epoch
        # is ~10 N V H flops of GEMM, i.e. ~50x cheaper per element.
        return bits <= 10 or (1 << bits) * width <= 0.02 * self.data.shape[0] * m.n_visible * m.n_hidden

    def compute_metrics(self) -> dict[str, float]:
        """Monitoring metrics on the fixed monitor subset (see module docs of the keys), in the user's units."""
        m = self.user_model
        out: dict[str, float] = {}
        with torch.no_grad():
            mon = self._monitor
            # one hidden pre-activation serves both the reconstruction and F(v) (one GEMM less)
            pre = m.hidden_preactivation(mon)
            f_train = float((m._visible_energy(mon) - softplus(pre).sum(dim=1)).mean())
            recon = m.visible_mean(torch.sigmoid_(pre))
            out["reconstruction_error"] = float((mon - recon).square_().mean())
            if isinstance(m, BernoulliRBM) and self._binary_data:
                out["pseudo_log_likelihood"] = float(pseudo_log_likelihood(m, mon[: self._pll_rows]).mean())
            out["free_energy_train"] = f_train
            if self._monitor_val is not None:
                f_val = float(free_energy_chunked(m, self._monitor_val).mean())
                out["free_energy_validation"] = f_val
                out["free_energy_gap"] = f_val - f_train
            if self._binary_data and self._exact_ll_affordable():
                try:
                    log_z = exact_log_partition(m, max_bits=self.config.exact_limit_bits)
                except TooLarge:
                    log_z = None
                if log_z is not None:
                    out["log_likelihood_train"] = -f_train - log_z
                    if self._monitor_val is not None:
                        out["log_likelihood_validation"] = -out["free_energy_validation"] - log_z
        return out
