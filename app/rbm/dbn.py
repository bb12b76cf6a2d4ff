"""Deep belief networks: a stack of RBMs trained greedily, layer by layer.

A DBN with layers ``RBM_1 .. RBM_L`` (``RBM_1`` reads the data ``v = h_0``; ``RBM_k`` has
visible ``h_{k-1}`` and hidden ``h_k``) is the generative model (Hinton, Osindero & Teh 2006)::

    p(v, h_1, ..., h_L) = p(v | h_1) p(h_1 | h_2) ... p(h_{L-2} | h_{L-1}) p_L(h_{L-1}, h_L)

with directed sigmoid (or Gaussian, for a gaussian ``RBM_1``) conditionals ``p(h_{k-1} | h_k)``
taken from ``RBM_k`` and an undirected top RBM ``p_L``. Greedy training fits ``RBM_1`` to the data,
then each ``RBM_k`` to the previous layer's mean-field ``p(h_{k-1} = 1 | ...)`` of the data
(probabilities in [0, 1], which the :class:`~app.rbm.training.Trainer` reads as such).

Uses: :meth:`DBN.up` (mean-field features at any layer), :meth:`DBN.down` (directed pass from a
top-level state to the visible layer), :meth:`DBN.reconstruct`, :func:`sample_dbn` (Gibbs in the
top RBM, then a down pass) and :func:`log_likelihood_lower_bound` (the variational bound of
Salakhutdinov & Murray 2008, with ``log Z`` of the top RBM, exact or AIS).

Layers are numbered like hidden layers: layer 0 is the visible (input) layer, layer ``k`` the
hidden layer of ``RBM_k`` (``self.layers[k - 1]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Sequence

import torch

from app.rbm.errors import InvalidInput, InvalidWeights
from app.rbm.model import RBM, BernoulliRBM, GaussianRBM, log_odds, softplus
from app.rbm.sampling import draw_samples
from app.rbm.training import DEFAULT_BATCH, MIN_AUTO_BATCH, Trainer, TrainingConfig, validate_training_data

#: Rows per block of the up-pass, so ``(rows, H)`` temporaries stay small on big data sets.
_UP_ROWS = 4096


class DBN:
    """A stack of RBMs: ``layers[0]`` bernoulli or gaussian, every upper layer bernoulli.

    Plain tensor holder like :class:`RBM`; the math is in the methods and functions below.
    """

    kind = "dbn"

    def __init__(self, layers: Sequence[RBM]) -> None:
        layers = list(layers)
        if not layers:
            raise InvalidWeights("a DBN needs at least one layer")
        for k, (lower, upper) in enumerate(zip(layers, layers[1:]), start=1):
            if upper.n_visible != lower.n_hidden:
                raise InvalidWeights(
                    f"layer {k + 1} has {upper.n_visible} visible units but layer {k} has {lower.n_hidden} hidden units"
                )
        for k, layer in enumerate(layers[1:], start=2):
            if not isinstance(layer, BernoulliRBM):
                raise InvalidWeights(f"layer {k} is {layer.visible_type}: only the first layer may be gaussian")
        if len({(lay.device, lay.dtype) for lay in layers}) != 1:
            raise InvalidWeights("all layers must share one device and dtype")
        self.layers = layers

    # ---------------------------------------------------------------- shape
    @property
    def visible_type(self) -> str:
        return self.layers[0].visible_type

    @property
    def n_visible(self) -> int:
        return self.layers[0].n_visible

    @property
    def n_hidden(self) -> int:
        """Units in the top hidden layer."""
        return self.layers[-1].n_hidden

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def sizes(self) -> list[int]:
        """Units per layer, visible first: ``[V, H_1, ..., H_L]``."""
        return [self.n_visible, *(lay.n_hidden for lay in self.layers)]

    @property
    def device(self) -> torch.device:
        return self.layers[0].device

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].dtype

    @property
    def top(self) -> RBM:
        return self.layers[-1]

    def __repr__(self) -> str:
        return f"DBN(sizes={self.sizes}, visible_type={self.visible_type!r}, device={self.device})"

    def parameters(self) -> dict[str, torch.Tensor]:
        """Every layer's tensors as ``layers.{i}.{name}`` (same objects, not copies)."""
        return {f"layers.{i}.{n}": t for i, lay in enumerate(self.layers) for n, t in lay.parameters().items()}

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> DBN:
        return DBN([lay.to(device=device, dtype=dtype) for lay in self.layers])

    def clone(self) -> DBN:
        return DBN([lay.clone() for lay in self.layers])

    # --------------------------------------------------------------- inputs
    def validate_input(self, v: torch.Tensor) -> None:
        """The first layer's check (binary, or any real values for a gaussian first layer)."""
        self.layers[0].validate_input(v)

    def check_layer(self, layer: int) -> int:
        """``layer`` in ``0..n_layers`` (``-1`` = top), or :class:`InvalidInput`."""
        if layer == -1:
            return self.n_layers
        if not 0 <= layer <= self.n_layers:
            raise InvalidInput(f"layer must be between 0 (the input) and {self.n_layers} (the top hidden layer), got {layer}")
        return layer

    # ------------------------------------------------------------- passes
    def up(self, v: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """Mean-field features ``p(h_k = 1 | h_{k-1})`` applied from ``v`` up to ``layer``:
        ``(n, V) -> (n, H_k)``; layer 0 returns ``v`` itself (as the model dtype)."""
        layer = self.check_layer(layer)
        with torch.no_grad():
            x = v.to(device=self.device, dtype=self.dtype)
            if x.shape[0] <= _UP_ROWS:
                return self._up(x, layer)
            return torch.cat([self._up(x[i : i + _UP_ROWS], layer) for i in range(0, x.shape[0], _UP_ROWS)])

    def _up(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        for lay in self.layers[:layer]:
            x = lay.hidden_probs(x)
        return x

    def down(self, h: torch.Tensor, *, from_layer: int = -1, sample: bool = False,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Directed pass from a state of layer ``from_layer`` (default the top RBM's visible
        layer, ``n_layers - 1``) to the visible layer: ``(n, H_k) -> (n, V)``.

        Intermediate layers are sampled when ``sample`` (needs ``generator``), else carried as
        probabilities (mean field); the visible layer is ``E[v | h_1]`` either way unless
        ``sample``, when it is a draw from ``p(v | h_1)``."""
        k = self.n_layers - 1 if from_layer == -1 else from_layer
        if not 0 <= k <= self.n_layers:
            raise InvalidInput(f"from_layer must be between 0 and {self.n_layers}, got {from_layer}")
        if sample and generator is None:
            raise ValueError("sample=True needs a generator")
        with torch.no_grad():
            x = h.to(device=self.device, dtype=self.dtype)
            for lay in reversed(self.layers[:k]):
                x = lay.sample_visible(x, generator) if sample else lay.visible_mean(x)
            return x

    def reconstruct(self, v: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """Mean-field up to ``layer`` and straight back down: ``(n, V) -> (n, V)``."""
        layer = self.check_layer(layer)
        return self.down(self.up(v, layer), from_layer=layer)


# ------------------------------------------------------------------ sampling
def sample_dbn(
    dbn: DBN,
    *,
    n_samples: int,
    steps: int,
    generator: torch.Generator,
    thin: int = 1,
    n_chains: int | None = None,
    init: str | torch.Tensor = "random",
    mean_visible: bool = True,
    sampler: str = "gibbs",
    n_replicas: int | None = None,
) -> torch.Tensor:
    """Samples of ``v``: ``steps`` block-Gibbs sweeps in the top RBM, then a down pass.

    ``init``: ``"random"`` (uniform binary states of the top RBM's visible layer) or data
    vectors ``(m, V)``, carried up by mean field and then sampled to binary states. The down pass
    samples the intermediate layers; the visible layer is ``E[v | h_1]`` (``mean_visible``, the
    usual picture) or a draw. ``sampler`` (and ``n_replicas`` for ``"pt"``) is handed to the top
    RBM's sampler (:func:`app.rbm.sampling.draw_samples`).
    """
    top = dbn.top
    with torch.no_grad():
        if isinstance(init, torch.Tensor):
            dbn.validate_input(init)
            p = dbn.up(init, dbn.n_layers - 1)
            start: str | torch.Tensor = p if dbn.n_layers == 1 else torch.lt(torch.rand(
                p.shape, generator=generator, device=p.device, dtype=p.dtype), p).to(p.dtype)
        else:
            start = init
        top_samples = draw_samples(top, n_samples=n_samples, steps=steps, thin=thin, init=start,
                                   sampler=sampler, generator=generator, n_chains=n_chains,
                                   n_replicas=n_replicas).samples
        if dbn.n_layers == 1:
            return top_samples
        below = dbn.layers[:-1]
        x = top_samples
        for i, lay in enumerate(reversed(below)):
            last = i == len(below) - 1
            x = lay.visible_mean(x) if (last and mean_visible) else lay.sample_visible(x, generator)
        return x


# --------------------------------------------------------------- likelihood
def _log_p_visible_given_hidden(layer: RBM, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``log p(v | h)`` of one RBM's directed conditional: ``(n, V), (n, H) -> (n,)``.

    Bernoulli: ``sum_i v_i log sigmoid(x_i) + (1 - v_i) log sigmoid(-x_i)``, ``x = a + W h``.
    Gaussian: ``sum_i log N(v_i; a_i + (W h)_i, s_i^2)``."""
    x = torch.addmm(layer.visible_bias, h, layer.weight.T)
    if isinstance(layer, GaussianRBM):
        z = (v - x) * torch.exp(-layer.log_sigma)
        return (-0.5 * z.square() - layer.log_sigma - 0.5 * math.log(2 * math.pi)).sum(dim=1)
    return (v * x - softplus(x)).sum(dim=1)


def _bernoulli_entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy of a factorial Bernoulli ``q`` with means ``p : (n, H)`` in nats: ``-> (n,)``."""
    p = p.to(torch.float64)
    return -(torch.xlogy(p, p) + torch.xlogy(1.0 - p, 1.0 - p)).sum(dim=1)


@dataclass
class LowerBound:
    """Output of :func:`log_likelihood_lower_bound`.

    ``bound : (n,)`` float64, the Monte-Carlo estimate of the variational lower bound per vector;
    ``bound_std : (n,)`` its standard error over the ``n_samples`` draws from ``q``;
    ``log_z``: the top RBM's ``log Z`` that was used (exact or an AIS estimate)."""

    bound: torch.Tensor
    bound_std: torch.Tensor
    log_z: float
    method: str = field(default="variational lower bound")


def log_likelihood_lower_bound(
    dbn: DBN,
    v: torch.Tensor,
    log_z_top: float,
    *,
    n_samples: int = 100,
    generator: torch.Generator,
) -> LowerBound:
    """Variational lower bound on ``log p(v)`` (Salakhutdinov & Murray 2008, section 4)::

        log p(v) >= E_q[ log p(v | h_1) + log p(h_1) ] + H(q),   q(h_1 | v) = prod_j p_1(h_1j | v)

    with ``q`` the first RBM's factorial posterior. For two layers ``log p(h_1)`` is the top RBM's
    marginal ``-F_2(h_1) - log Z_2``; for more layers it is replaced, recursively, by the same bound
    of the stack above (so the result is still a lower bound). The entropy is exact; the other
    terms are averaged over ``n_samples`` draws ``h_1 ~ q`` (an unbiased estimate of the bound,
    whose standard error is returned). The gap ``log p(v) - bound`` is ``KL(q || p(h_1 | v))``
    (plus the gaps of the layers above).

    ``log_z_top`` is the top RBM's ``log Z`` (exact or AIS); with an AIS estimate, which tends to
    underestimate, the reported bound inherits its error.
    """
    if n_samples < 1:
        raise InvalidInput(f"n_samples must be at least 1, got {n_samples}")
    dbn.validate_input(v)
    with torch.no_grad():
        x = v.to(device=dbn.device, dtype=dbn.dtype)
        per_draw = _bound_terms(dbn.layers, x, n_samples, generator)  # (S, n) float64
        values = per_draw - log_z_top
        bound = values.mean(dim=0)
        std = values.std(dim=0) / math.sqrt(n_samples) if n_samples > 1 else torch.full_like(bound, float("inf"))
        return LowerBound(bound=bound.cpu(), bound_std=std.cpu(), log_z=float(log_z_top))


def _bound_terms(layers: list[RBM], x: torch.Tensor, n_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Per draw ``s`` and row: ``log p(x | h^s) + H(q) + [bound of the stack above at h^s]``,
    without the top ``log Z``: ``-> (S, n)`` float64. One layer: ``-F(x)`` (exact marginal)."""
    first = layers[0]
    if len(layers) == 1:
        return (-first.free_energy(x)).to(torch.float64).expand(n_samples, -1)
    q = first.hidden_probs(x)  # (n, H)
    entropy = _bernoulli_entropy(q)  # (n,)
    out = torch.empty((n_samples, x.shape[0]), device=x.device, dtype=torch.float64)
    for s in range(n_samples):
        h = torch.lt(torch.rand(q.shape, generator=generator, device=q.device, dtype=q.dtype), q).to(q.dtype)
        above = _bound_terms(layers[1:], h, 1, generator)[0]
        out[s] = _log_p_visible_given_hidden(first, x, h).to(torch.float64) + above
    return out + entropy


# ------------------------------------------------------------------ training
def init_dbn(
    n_visible: int,
    hidden_sizes: Sequence[int],
    *,
    visible_type: str = "bernoulli",
    generator: torch.Generator,
    data: torch.Tensor | None = None,
    sigma: float | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> DBN:
    """Random layers (see the RBMs' ``init_random``); only the first layer sees ``data``, upper
    layers get their visible biases from their own training data when :class:`DBNTrainer`
    reaches them."""
    if not hidden_sizes:
        raise ValueError("a DBN needs at least one hidden layer")
    first_cls = GaussianRBM if visible_type == "gaussian" else BernoulliRBM
    kw = {"generator": generator, "device": device, "dtype": dtype}
    layers: list[RBM] = [first_cls.init_random(n_visible, hidden_sizes[0], data=data, sigma=sigma, **kw)]
    for lower, upper in zip(hidden_sizes, hidden_sizes[1:]):
        layers.append(BernoulliRBM.init_random(lower, upper, **kw))
    return DBN(layers)


#: Training options a `dbn` job gives each layer unless told otherwise (measured, bench/README.md, Deep
#: belief networks): a sparsity target of 0.1 (Hinton's practical guide, section 11) on every layer;
#: CD-1 below the top; the top RBM, the generative model, trained like a single bernoulli RBM
#: (persistent tempered chains, pt) so that samples come from its equilibrium (a CD-1 top puts its
#: mass on blank MNIST images); mini-batches of a hundredth of a small data set (10 to 100 rows).
#: 8x8 digits 64-100-100: probe 94.2 % with the train kind's defaults, >= 95 % with these.
DBN_SPARSITY = {"sparsity_target": 0.1, "sparsity_cost": 0.1}
#: Unset batch size of a DBN layer: ``n_rows // DBN_BATCH_DIVISOR`` within [MIN_AUTO_BATCH, DEFAULT_BATCH].
DBN_BATCH_DIVISOR = 100


def dbn_layer_defaults(index: int, n_layers: int, visible_type: str = "bernoulli",
                       n_rows: int | None = None) -> dict[str, object]:
    """Training options of layer ``index`` (0-based, bottom first) of an ``n_layers`` DBN that
    override :class:`TrainingConfig`'s defaults where a caller leaves them unset; ``batch_size``
    only when ``n_rows`` (training rows) is given. A gaussian first layer keeps the single
    gaussian RBM's defaults (pcd, no sparsity: measured there, not here)."""
    if not 0 <= index < n_layers:
        raise ValueError(f"layer index {index} outside 0..{n_layers - 1}")
    if index == 0 and visible_type == "gaussian":
        return {}
    out: dict[str, object] = {**DBN_SPARSITY, "method": "pt" if index == n_layers - 1 else "cd"}
    if n_rows is not None:
        out["batch_size"] = min(DEFAULT_BATCH, max(MIN_AUTO_BATCH, int(n_rows) // DBN_BATCH_DIVISOR))
    return out


EpochCallback = Callable[[int, int, dict[str, float]], "bool | None"]


class DBNTrainer:
    """Greedy layer-wise training (Hinton, Osindero & Teh 2006) with one :class:`Trainer` per layer.

    ``configs``: one :class:`TrainingConfig` per layer (a single config is used for all). Layer
    ``k``'s trainer sees the mean-field features ``dbn.up(data, k)`` of the training data (and of
    ``validation``, if given); upper layers start with visible biases at the log-odds of their
    data's mean. Resumable: :meth:`state_dict` holds the layer being trained, every layer's
    parameters and that layer's trainer state.
    """

    def __init__(
        self,
        dbn: DBN,
        data: torch.Tensor,
        configs: TrainingConfig | Sequence[TrainingConfig],
        *,
        validation: torch.Tensor | None = None,
    ) -> None:
        cfgs = [configs] * dbn.n_layers if isinstance(configs, TrainingConfig) else list(configs)
        if len(cfgs) != dbn.n_layers:
            raise ValueError(f"{len(cfgs)} training configs for {dbn.n_layers} layers")
        for c in cfgs:
            c.validate()
        validate_training_data(dbn.layers[0], data)
        self.dbn = dbn
        data = data.to(device=dbn.device, dtype=dbn.dtype)
        if validation is not None:
            validate_training_data(dbn.layers[0], validation)
            validation = validation.to(device=dbn.device, dtype=dbn.dtype)
        elif cfgs[0].validation_fraction > 0:
            # split once, seeded, here (not in layer 0's Trainer) so that a resumed upper layer
            # sees the same training rows
            n_val = int(round(cfgs[0].validation_fraction * data.shape[0]))
            if n_val < 1 or n_val >= data.shape[0]:
                raise InvalidInput(f"validation_fraction={cfgs[0].validation_fraction} of {data.shape[0]} rows "
                                   "leaves an empty training or validation set")
            perm = torch.randperm(data.shape[0], generator=torch.Generator().manual_seed(cfgs[0].seed))
            perm = perm.to(data.device)
            validation, data = data[perm[:n_val]], data[perm[n_val:]]
        # every layer's trainer gets the split explicitly; unset epochs / batch sizes come from the
        # number of training rows (the same for every layer), so the schedule is known up front
        self.configs = [replace(c, validation_fraction=0.0).resolved(data.shape[0], lay.visible_type == "gaussian")
                        for c, lay in zip(cfgs, dbn.layers)]
        self.data, self.validation = data, validation
        self._layer = 0  # index into dbn.layers of the layer being trained
        self.trainer: Trainer | None = None

    @property
    def layer(self) -> int:
        """0-based index of the layer in training (``n_layers`` when all are done)."""
        return self._layer

    @property
    def done(self) -> bool:
        return self._layer >= self.dbn.n_layers

    @property
    def total_epochs(self) -> int:
        return sum(c.epochs for c in self.configs)

    @property
    def epochs_done(self) -> int:
        """Epochs finished over all layers."""
        before = sum(c.epochs for c in self.configs[: self._layer])
        return before + (self.trainer.epoch if self.trainer is not None and not self.done else 0)

    def _start_layer(self, reset_biases: bool = True) -> Trainer:
        k = self._layer
        layer = self.dbn.layers[k]
        x = self.dbn.up(self.data, k)
        val = None if self.validation is None else self.dbn.up(self.validation, k)
        if k > 0 and reset_biases:
            layer.visible_bias.copy_(log_odds(x.mean(dim=0, dtype=torch.float64)).to(layer.dtype))
        self.trainer = Trainer(layer, x, self.configs[k], validation=val)
        return self.trainer

    def fit(self, on_epoch: EpochCallback | None = None) -> DBN:
        """Train every remaining layer; ``on_epoch(layer_index, epoch, metrics)`` returning
        False stops (the state stays resumable)."""
        while not self.done:
            trainer = self.trainer or self._start_layer()
            k = self._layer
            stopped = False

            def cb(epoch: int, metrics: dict[str, float], k: int = k) -> bool:
                nonlocal stopped
                if on_epoch is not None and on_epoch(k, epoch, metrics) is False:
                    stopped = True
                    return False
                return True

            trainer.fit(cb)
            if stopped:
                return self.dbn
            self._layer += 1
            self.trainer = None
        return self.dbn

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, torch.Tensor]:
        """``dbn.layer``, every layer's parameters and (mid-layer) ``trainer.*`` of its trainer."""
        state = {"dbn.layer": torch.tensor(self._layer, dtype=torch.int64)}
        for name, t in self.dbn.parameters().items():
            state[name] = t.detach().clone()
        if self.trainer is not None and not self.done:
            for name, t in self.trainer.state_dict().items():
                state[f"trainer.{name}"] = t
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` output (same architecture, configs and data)."""
        if "dbn.layer" not in state:
            raise ValueError("not a DBN trainer state: no 'dbn.layer'")
        params = self.dbn.parameters()
        missing = sorted(set(params) - set(state))
        if missing:
            raise ValueError(f"DBN trainer state lacks {missing}")
        with torch.no_grad():
            for name, t in params.items():
                t.copy_(state[name])
        self._layer = int(state["dbn.layer"])
        self.trainer = None
        sub = {k[len("trainer."):]: v for k, v in state.items() if k.startswith("trainer.")}
        if sub and not self.done:
            self._start_layer(reset_biases=False)
            self.trainer.load_state_dict(sub)
