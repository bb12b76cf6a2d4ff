"""Restricted Boltzmann Machine parameter containers and conditionals.

Two visible types share one hidden layer of binary units ``h in {0,1}^H``.

Binary-binary (``visible_type = "bernoulli"``)::

    E(v, h) = -a.v - b.h - v.W.h
    F(v)    = -a.v - sum_j softplus(b_j + (vW)_j)
    p(v)    = exp(-F(v)) / Z,   Z = sum_{v in {0,1}^V} exp(-F(v))

Gaussian-binary (``visible_type = "gaussian"``), with ``s = exp(log_sigma)``::

    E(v, h) = sum_i (v_i - a_i)^2 / (2 s_i^2) - b.h - sum_ij (v_i / s_i^2) W_ij h_j
    F(v)    = sum_i (v_i - a_i)^2 / (2 s_i^2) - sum_j softplus(b_j + sum_i v_i W_ij / s_i^2)
    p(v)    = exp(-F(v)) / Z,   Z = integral over R^V of exp(-F(v)) dv

so for the Gaussian model ``Z`` *includes* the ``prod_i (2 pi s_i^2)^(1/2)``
normalisation of the Gaussian conditionals, and ``-F(v) - log Z`` is a proper
log-density with respect to Lebesgue measure. Conditionals::

    p(h_j = 1 | v) = sigmoid(b_j + sum_i v_i W_ij / s_i^2)
    v | h          ~ N(a + W h, diag(s^2))

Every method takes an inverse temperature ``beta``: the tempered model uses
``beta * E``, so ``F_beta(v) = -log sum_h exp(-beta E(v, h))``. For the
Gaussian model that means ``v | h ~ N(a + W h, s^2 / beta)``.

Shapes: ``weight W : (V, H)``, ``visible_bias a : (V,)``, ``hidden_bias b : (H,)``,
``log_sigma : (V,)``; batches of visible vectors are ``(n, V)`` and of hidden
vectors ``(n, H)``. Models are plain tensor holders (not ``nn.Module``): the
learning rules in :mod:`app.rbm.training` are written out by hand.
"""

from __future__ import annotations

import math
from typing import ClassVar
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F

from app.rbm.errors import InvalidInput, InvalidWeights

#: Above this pre-activation softplus(x) == x to float64 precision (exp(-40) ~ 4e-18).
_SOFTPLUS_THRESHOLD = 40.0
#: Data means are clipped to [eps, 1 - eps] before taking log-odds.
_LOGIT_EPS = 1e-3
#: Lower bound on a data-derived sigma, so constant pixels do not give log(0).
_MIN_SIGMA = 1e-3
#: Standardisation floor: a feature's scale is ``max(std_i, SCALE_FLOOR * median_j std_j)`` (the
#: median, so a few features in much larger units do not floor the rest; the mean where more than
#: half the features are constant). A feature below it is *near-constant*: it keeps the floor as
#: its scale and its sigma stays there (see :meth:`GaussianRBM.log_sigma_bounds`), so it adds at
#: most ``-log(floor * sqrt(2 pi))`` nats to log p instead of diverging.
SCALE_FLOOR = 0.1
#: Learned sigma stays within ``[SIGMA_FLOOR, SIGMA_CEILING]`` times the feature's scale (in
#: standard units: ``log SIGMA_FLOOR <= log sigma <= log SIGMA_CEILING``): bounds relative to the
#: data, not absolute ones. The ceiling stops a rare large value (an MNIST border pixel that is
#: lit once in 10,000 images sits ~50 scales out) from blowing sigma up and then 1/sigma^2 down.
SIGMA_FLOOR = 0.02
SIGMA_CEILING = 2.0
#: Whitening (``standardize="whiten"``, :meth:`GaussianRBM.init_random`): the start of sigma in
#: standard (whitened) units. At sigma = 1 and W ~ 0 a whitened model is the data's full-covariance
#: Gaussian, a stationary point of the likelihood that learned sigma makes attracting (white data:
#: no covariance left for W to explain), so training stays there (dequantised digits: W norm 0.1
#: after 1,000 epochs, test LL = the Gaussian's); a start below 1 leaves excess variance for W to
#: explain (bench/README.md; with the whitened sigma step, app.rbm.training).
WHITEN_SIGMA_START = 0.3
#: Whitening floor: a principal component's scale is also at least ``WHITEN_TOP_FLOOR`` times the
#: largest component's spread (a ZCA-epsilon-style floor relative to the top of the spectrum, on top
#: of :data:`SCALE_FLOOR`'s median rule); components below it count as near-constant (their sigma
#: stays at the floor) instead of being blown up to unit scale. 0 (the default) turns it off: 0.05 cost
#: the dequantised digits 3.5 nats (49.76 < 50) without better MNIST samples, and 0.01 (digits
#: unchanged) was not shown to help them either (bench/README.md, issue 18).
WHITEN_TOP_FLOOR = 0.0
#: ``|R^T R - I|`` above this refuses a stored rotation: log p assumes ``|det R| = 1``.
_ROTATION_TOLERANCE = 1e-4

SUPPORTED_DTYPES = (torch.float32, torch.float64)


#: Elements per chunk of a whole-array check: its temporaries stay ~2 MiB however big
#: the data (a 10k x 784 training set would otherwise need several 8 MB masks at once).
_CHECK_CHUNK = 1 << 18


def _all_rows(v: torch.Tensor, predicate: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """``predicate(rows).all()`` over ``v : (n, V)``, a block of rows at a time."""
    return all(bool(predicate(b).all()) for b in _row_blocks(v))


def log_odds(mean: torch.Tensor) -> torch.Tensor:
    """Clipped log-odds ``log(p / (1 - p))`` of unit means ``p``: the visible bias of a hidden-free
    model with those marginals (the base rate of AIS and tempering, the start of training). ``p``
    is clipped to ``[eps, 1 - eps]`` so constant units get a large finite bias, not infinity."""
    p = mean.clamp(_LOGIT_EPS, 1.0 - _LOGIT_EPS)
    return torch.log(p / (1.0 - p))


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))`` without overflow, accurate in float32 and float64."""
    return F.softplus(x, beta=1.0, threshold=_SOFTPLUS_THRESHOLD)


class RBM:
    """Common parameters and conditionals of an RBM with binary hidden units.

    Subclasses implement the visible-layer specific parts.
    """

    visible_type: ClassVar[str] = ""

    def __init__(self, weight: torch.Tensor, visible_bias: torch.Tensor, hidden_bias: torch.Tensor) -> None:
        self.weight = weight
        self.visible_bias = visible_bias
        self.hidden_bias = hidden_bias

    # ------------------------------------------------------------------ shape
    @property
    def n_visible(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.weight.shape[1])

    @property
    def exact_bits(self) -> int:
        """Units whose states exact log Z enumerates: the smaller layer (binary visibles, either
        layer can be summed out), all hidden units for Gaussian visibles (integrated, not summed)."""
        return min(self.n_visible, self.n_hidden)

    def start_states(self, rows: torch.Tensor) -> torch.Tensor:
        """Chain starts from data rows: rows as they are (binary models round them, below)."""
        return rows

    @property
    def device(self) -> torch.device:
        return self.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
            f"device={self.device}, dtype={self.dtype})"
        )

    # ------------------------------------------------------------ parameters
    def parameters(self) -> dict[str, torch.Tensor]:
        """Trainable tensors by attribute name (same objects, not copies)."""
        return {"weight": self.weight, "visible_bias": self.visible_bias, "hidden_bias": self.hidden_bias}

    def tensors(self) -> dict[str, torch.Tensor]:
        """Tensors under their serialisation names (see :mod:`app.rbm.io`)."""
        return {"weight": self.weight, "visible_bias": self.visible_bias, "hidden_bias": self.hidden_bias}

    def _constructor_tensors(self) -> dict[str, torch.Tensor]:
        """Everything ``type(self)(**...)`` needs: the parameters plus fixed buffers."""
        return self.parameters()

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> RBM:
        """Return a new model with every tensor copied to ``device`` / ``dtype``."""
        kwargs = {k: t.to(device=device, dtype=dtype, copy=True) for k, t in self._constructor_tensors().items()}
        return type(self)(**kwargs)

    def clone(self) -> RBM:
        """Deep copy of the model (same device and dtype)."""
        return type(self)(**{k: t.clone() for k, t in self._constructor_tensors().items()})

    # ------------------------------------------------------- standard units
    def in_standard_units(self) -> RBM:
        """The model in the units it is trained in. Here: ``self`` (same tensors).

        A standardised :class:`GaussianRBM` returns an equivalent model over
        ``z = (v - offset) / scale`` instead; training updates that one and hands it
        back with :meth:`load_standard_units`.
        """
        return self

    def load_standard_units(self, standard: RBM) -> None:
        """Set this model from ``standard`` (an :meth:`in_standard_units` model); no-op for ``self``."""
        if standard is not self:
            raise ValueError("load_standard_units expects the model from in_standard_units()")

    def to_standard_units(self, v: torch.Tensor) -> torch.Tensor:
        """``v`` in the units of :meth:`in_standard_units` (here unchanged): ``(n, V)`` -> ``(n, V)``."""
        return v

    def from_standard_units(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_standard_units`: ``(n, V)`` -> ``(n, V)`` in the user's units."""
        return z

    # ------------------------------------------------------------------ basis
    def in_basis(self) -> RBM:
        """The model whose stored tensors and methods share one set of units: ``self`` (same tensors).

        A whitened :class:`GaussianRBM` stores its tensors over rotated coordinates ``y = v R``;
        it returns a model without the rotation over ``y`` (sharing the tensors). Samplers, AIS and
        tempering bases, which read the tensors directly, run there; :meth:`to_basis` /
        :meth:`from_basis` carry states across.
        """
        return self

    def to_basis(self, v: torch.Tensor) -> torch.Tensor:
        """``v`` in the units of :meth:`in_basis` (here unchanged): ``(n, V)`` -> ``(n, V)``."""
        return v

    def from_basis(self, y: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_basis`: ``(n, V)`` -> ``(n, V)`` in the user's units."""
        return y

    # ---------------------------------------------------------------- inputs
    def validate_input(self, v: torch.Tensor) -> None:
        """Raise :class:`InvalidInput` unless ``v : (n, V)`` is usable by this model."""
        if not isinstance(v, torch.Tensor):
            raise InvalidInput(f"expected a tensor of visible vectors, got {type(v).__name__}")
        if v.dim() != 2:
            raise InvalidInput(
                f"expected a 2-D batch of visible vectors with shape (n, {self.n_visible}), "
                f"got shape {tuple(v.shape)}"
            )
        if v.shape[1] != self.n_visible:
            raise InvalidInput(f"expected vectors of length {self.n_visible}, got {v.shape[1]}")
        if v.is_complex():
            raise InvalidInput(f"expected real-valued visible vectors, got dtype {v.dtype}")
        if v.is_floating_point() and not _all_rows(v, torch.isfinite):
            raise InvalidInput("visible vectors contain NaN or infinite values; remove or impute them")

    # ------------------------------------------------------- conditionals
    def hidden_preactivation(self, v: torch.Tensor) -> torch.Tensor:
        """Hidden total input ``b + (v / s^2) W``: ``v : (n, V)`` -> ``(n, H)``."""
        return torch.addmm(self.hidden_bias, self._scale_visible(v), self.weight)

    def hidden_probs(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """``p(h = 1 | v)`` at inverse temperature beta: ``(n, V)`` -> ``(n, H)``."""
        pre = self.hidden_preactivation(v)
        if beta != 1.0:
            pre = pre.mul_(beta)
        return torch.sigmoid_(pre)

    def sample_hidden(self, v: torch.Tensor, generator: torch.Generator, beta: float = 1.0) -> torch.Tensor:
        """Draw ``h ~ p(h | v)`` as 0/1 values in the model dtype: ``(n, V)`` -> ``(n, H)``."""
        p = self.hidden_probs(v, beta)
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        return torch.lt(u, p, out=u)

    def free_energy(self, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """``F_beta(v) = -log sum_h exp(-beta E(v, h))``: ``(n, V)`` -> ``(n,)``."""
        pre = self.hidden_preactivation(v)
        if beta != 1.0:
            pre = pre.mul_(beta)
        return self._visible_energy(v) * beta - softplus(pre).sum(dim=1)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Joint energy ``E(v, h)``: ``(n, V), (n, H)`` -> ``(n,)``."""
        interaction = ((self._scale_visible(v) @ self.weight) * h).sum(dim=1)
        return self._visible_energy(v) - h @ self.hidden_bias - interaction

    def visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        """Hidden-independent part of the energy (``-a.v`` or ``|v - a|^2_s / 2``): ``(n, V)`` -> ``(n,)``;
        ``E(v, h) = visible_energy(v) - h.(b + scale_visible(v) W)``."""
        return self._visible_energy(v)

    def scale_visible(self, v: torch.Tensor) -> torch.Tensor:
        """Visible vector as the hidden layer sees it (``v``, or ``v / s^2`` for gaussian): ``(n, V)``."""
        return self._scale_visible(v)

    # -------------------------------------------------------- subclass hooks
    def _scale_visible(self, v: torch.Tensor) -> torch.Tensor:
        """Visible vector as seen by the hidden layer (``v`` or ``v / s^2``)."""
        raise NotImplementedError

    def _visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        """Hidden-independent part of the energy: ``(n, V)`` -> ``(n,)``."""
        raise NotImplementedError

    def visible_mean(self, h: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        raise NotImplementedError

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator, beta: float = 1.0) -> torch.Tensor:
        raise NotImplementedError


class BernoulliRBM(RBM):
    """Binary visible units, binary hidden units."""

    visible_type: ClassVar[str] = "bernoulli"

    @classmethod
    def init_random(
        cls,
        n_visible: int,
        n_hidden: int,
        *,
        generator: torch.Generator,
        data: torch.Tensor | None = None,
        sigma: float | torch.Tensor | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> BernoulliRBM:
        """Weights ``0.01 * N(0, 1)``, hidden bias 0, visible bias = log-odds of the data mean.

        The log-odds start (Hinton's practical guide, section 8) makes the
        hidden-free model already reproduce the pixel marginals. ``sigma`` is
        accepted for signature symmetry and ignored.
        """
        device = _generator_device(generator) if device is None else torch.device(device)
        weight = _random_weight(n_visible, n_hidden, generator, device, dtype)
        visible_bias = torch.zeros(n_visible, device=device, dtype=dtype)
        if data is not None:
            visible_bias = log_odds(_data_mean(data, n_visible).to(device=device)).to(dtype)
        hidden_bias = torch.zeros(n_hidden, device=device, dtype=dtype)
        return cls(weight, visible_bias, hidden_bias)

    def start_states(self, rows: torch.Tensor) -> torch.Tensor:
        """Binary chain starts: rows of probabilities in [0, 1] start from their rounding."""
        return (rows >= 0.5).to(rows.dtype)

    def validate_input(self, v: torch.Tensor) -> None:
        """Also require every entry to be exactly 0 or 1."""
        super().validate_input(v)
        if not _all_rows(v, lambda c: (c == 0) | (c == 1)):
            raise InvalidInput(
                "a bernoulli model needs binary visible vectors: every value must be 0 or 1 "
                "(threshold or sample your data first)"
            )

    def _scale_visible(self, v: torch.Tensor) -> torch.Tensor:
        return v

    def _visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -(v @ self.visible_bias)

    def visible_mean(self, h: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """``p(v = 1 | h) = sigmoid(beta (a + W h))``: ``(n, H)`` -> ``(n, V)``."""
        pre = torch.addmm(self.visible_bias, h, self.weight.T)
        if beta != 1.0:
            pre = pre.mul_(beta)
        return torch.sigmoid_(pre)

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator, beta: float = 1.0) -> torch.Tensor:
        """Draw binary ``v ~ p(v | h)``: ``(n, H)`` -> ``(n, V)``."""
        p = self.visible_mean(h, beta)
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        return torch.lt(u, p, out=u)


class GaussianRBM(RBM):
    """Real-valued Gaussian visible units with per-unit std ``s = exp(log_sigma)``.

    Standardisation. ``visible_offset m`` and ``visible_scale c`` (``(V,)``, or both ``None``)
    record the affine map ``z = (v - m) / c`` to the units the model is trained in. The family
    is closed under that map: a model over ``z`` with ``(W, a, b, log s)`` *is* the model over
    ``v`` with::

        W' = c W,   a' = m + c a,   log s' = log s + log c,   b' = b - ((m / (c s^2)) W)

    since ``E'(v, h) = E(z(v), h)`` term by term. The stored parameters are always the
    ``v``-unit ones, so every query (free energy, conditionals, samplers, log Z) takes and
    returns the user's units, and ``Z' = Z prod_i c_i``: ``-F'(v) - log Z'`` is
    ``log p_z(z(v)) - sum_i log c_i``, a density in the user's units with the Jacobian in it.
    :meth:`in_standard_units` gives the ``z``-unit model that training updates.

    Whitening. ``visible_rotation R`` (``(V, V)`` orthogonal, or ``None``; only with a
    standardisation) rotates the data to its principal axes first: ``y = v R``, then
    ``z = (y - m) / c`` as above with ``m``, ``c`` (and every stored parameter) in ``y`` units.
    With ``c`` the principal components' spreads (floored by :func:`feature_scale`'s rule), ``z``
    is the data whitened (PCA), and the model over ``v`` is a GB-RBM whose visible conditionals
    ``v | h ~ N((a + W h) R^T, R diag(s^2) R^T)`` have a *full* covariance; with ``W = 0`` and
    ``s = c`` it is exactly the data's full-covariance Gaussian. Since ``|det R| = 1`` the
    density needs no further Jacobian: ``log Z`` of the stored (``y``-unit) tensors is ``log Z``
    in ``v`` units. The model's own methods take and return ``v``; code that reads the tensors
    directly (samplers, AIS, tempering bases) runs on :meth:`in_basis` with states carried by
    :meth:`to_basis` / :meth:`from_basis`.
    """

    visible_type: ClassVar[str] = "gaussian"

    @property
    def exact_bits(self) -> int:
        return self.n_hidden

    def __init__(
        self,
        weight: torch.Tensor,
        visible_bias: torch.Tensor,
        hidden_bias: torch.Tensor,
        log_sigma: torch.Tensor,
        visible_offset: torch.Tensor | None = None,
        visible_scale: torch.Tensor | None = None,
        visible_rotation: torch.Tensor | None = None,
    ) -> None:
        super().__init__(weight, visible_bias, hidden_bias)
        self.log_sigma = log_sigma
        if (visible_offset is None) != (visible_scale is None):
            raise ValueError("give both visible_offset and visible_scale, or neither")
        if visible_rotation is not None and visible_scale is None:
            raise ValueError("visible_rotation needs a standardisation (visible_offset, visible_scale)")
        self.visible_offset = visible_offset
        self.visible_scale = visible_scale
        self.visible_rotation = visible_rotation

    @property
    def standardized(self) -> bool:
        """Whether a standardisation ``(visible_offset, visible_scale)`` is attached."""
        return self.visible_scale is not None

    @property
    def whitened(self) -> bool:
        """Whether a rotation to principal axes is attached (see the class docs)."""
        return self.visible_rotation is not None

    def _constructor_tensors(self) -> dict[str, torch.Tensor]:
        out = self.parameters()
        if self.standardized:
            out.update(visible_offset=self.visible_offset, visible_scale=self.visible_scale)
        if self.whitened:
            out["visible_rotation"] = self.visible_rotation
        return out

    def in_basis(self) -> GaussianRBM:
        """``self``, or for a whitened model the same tensors without the rotation: the model over
        ``y = v R`` (see :meth:`RBM.in_basis`)."""
        if not self.whitened:
            return self
        return GaussianRBM(self.weight, self.visible_bias, self.hidden_bias, self.log_sigma,
                           self.visible_offset, self.visible_scale)

    def to_basis(self, v: torch.Tensor) -> torch.Tensor:
        """``y = v R`` (``v`` itself when not whitened): ``(n, V)`` -> ``(n, V)``."""
        return v if self.visible_rotation is None else v @ self.visible_rotation.to(v.dtype)

    def from_basis(self, y: torch.Tensor) -> torch.Tensor:
        """``v = y R^T`` (``y`` itself when not whitened): ``(n, V)`` -> ``(n, V)``."""
        return y if self.visible_rotation is None else y @ self.visible_rotation.to(y.dtype).T

    def to_standard_units(self, v: torch.Tensor) -> torch.Tensor:
        """``z = (v R - m) / c``: ``(n, V)`` -> ``(n, V)`` (``v`` itself when not standardised)."""
        if not self.standardized:
            return v
        return (self.to_basis(v) - self.visible_offset).div_(self.visible_scale)

    def from_standard_units(self, z: torch.Tensor) -> torch.Tensor:
        """``v = (m + c z) R^T``: ``(n, V)`` -> ``(n, V)`` (``z`` itself when not standardised)."""
        if not self.standardized:
            return z
        return self.from_basis(torch.addcmul(self.visible_offset, z, self.visible_scale))

    def in_standard_units(self) -> GaussianRBM:
        """The equivalent model over ``z = (v - m) / c`` (new tensors), or ``self``."""
        if not self.standardized:
            return self
        m, c = self.visible_offset.to(torch.float64), self.visible_scale.to(torch.float64)
        w = self.weight.to(torch.float64) / c[:, None]
        log_s = self.log_sigma.to(torch.float64) - torch.log(c)
        a = (self.visible_bias.to(torch.float64) - m) / c
        b = self.hidden_bias.to(torch.float64) + (m / c * torch.exp(-2.0 * log_s)) @ w
        return GaussianRBM(*(t.to(self.dtype) for t in (w, a, b, log_s)))

    def load_standard_units(self, standard: RBM) -> None:
        """Set the parameters (in place) to the ``v``-unit form of ``standard``'s (see class docs)."""
        if standard is self:
            return
        if not self.standardized:
            raise ValueError("load_standard_units expects the model from in_standard_units()")
        m, c = self.visible_offset.to(torch.float64), self.visible_scale.to(torch.float64)
        w = standard.weight.to(torch.float64)
        log_s = standard.log_sigma.to(torch.float64)
        b = standard.hidden_bias.to(torch.float64) - (m / c * torch.exp(-2.0 * log_s)) @ w
        with torch.no_grad():
            self.weight.copy_(w * c[:, None])
            self.visible_bias.copy_(standard.visible_bias.to(torch.float64) * c + m)
            self.log_sigma.copy_(log_s + torch.log(c))
            self.hidden_bias.copy_(b)

    def log_sigma_bounds(self, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lowest and highest learned ``log sigma`` per unit, in the units of
        :meth:`in_standard_units`: ``data : (n, V)`` -> ``((V,), (V,))``.

        With ``c_i = max(std_i, SCALE_FLOOR * median_j std_j)`` (:func:`feature_scale` of ``data``
        in the user's units): ``SIGMA_FLOOR c_i <= sigma_i <= SIGMA_CEILING c_i``, and
        ``sigma_i = c_i`` for a near-constant unit (``std_i`` below the floor), which then
        neither collapses nor dominates log p.
        """
        scale, near_constant = feature_scale(self.to_basis(_as_2d(data, self.n_visible)), self.n_visible,
                                             top_floor=WHITEN_TOP_FLOOR if self.whitened else 0.0)
        log_c = torch.log(scale)
        if self.standardized:
            log_c = log_c - torch.log(self.visible_scale.to(torch.float64))
        low = log_c + torch.where(near_constant, 0.0, math.log(SIGMA_FLOOR))
        high = log_c + torch.where(near_constant, 0.0, math.log(SIGMA_CEILING))
        kw = {"device": self.device, "dtype": self.dtype}
        return low.to(**kw), high.to(**kw)

    @classmethod
    def init_random(
        cls,
        n_visible: int,
        n_hidden: int,
        *,
        generator: torch.Generator,
        data: torch.Tensor | None = None,
        sigma: float | torch.Tensor | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        standardize: bool | str = True,
        top_floor: float = 0.0,
    ) -> GaussianRBM:
        """Weights ``0.01 * N(0, 1)``, hidden bias 0, visible bias = data mean.

        ``sigma`` (scalar or ``(V,)``) wins over the data std; with neither,
        sigma = 1. With ``data`` and ``standardize`` (the default) the model
        carries the data's standardisation (mean, :func:`feature_scale`) and
        starts, in standard units, at ``a = 0``, ``sigma = 1`` (i.e. ``a`` = data
        mean, ``sigma`` = data scale in the user's units). Without it, data
        stds are floored at 1e-3 so constant columns stay finite.

        ``standardize="whiten"`` (with ``data``): rotate to the data's principal axes first
        (:func:`principal_axes`, attached as ``visible_rotation``), then standardise the components
        as above, so the standard units are the whitened data; sigma starts at
        :data:`WHITEN_SIGMA_START` there unless ``sigma`` is given.
        """
        if standardize not in (True, False, "whiten"):
            raise ValueError(f"standardize must be true, false or 'whiten', got {standardize!r}")
        if standardize == "whiten" and data is not None:
            d = _as_2d(data, n_visible)
            rotation = principal_axes(d, n_visible)
            y = d @ rotation.to(device=d.device, dtype=d.dtype if d.is_floating_point() else torch.float64)
            if sigma is None:
                sigma = WHITEN_SIGMA_START * feature_scale(y, n_visible, top_floor=WHITEN_TOP_FLOOR)[0].cpu()
            inner = cls.init_random(n_visible, n_hidden, generator=generator, data=y, sigma=sigma, device=device,
                                    dtype=dtype, standardize=True, top_floor=WHITEN_TOP_FLOOR)
            kw = {"device": inner.device, "dtype": dtype}
            return cls(*inner._constructor_tensors().values(), visible_rotation=rotation.to(**kw))
        if standardize and data is not None:
            offset = _data_mean(data, n_visible)
            scale, _ = feature_scale(data, n_visible, offset, top_floor)
            std_sigma = None if sigma is None else torch.as_tensor(sigma, dtype=torch.float64) / scale.cpu()
            z = cls.init_random(n_visible, n_hidden, generator=generator, sigma=std_sigma, device=device,
                                dtype=dtype, standardize=False)
            kw = {"device": z.device, "dtype": dtype}
            model = cls(torch.empty_like(z.weight), torch.empty_like(z.visible_bias), torch.empty_like(z.hidden_bias),
                        torch.empty_like(z.log_sigma), offset.to(**kw), scale.to(**kw))
            model.load_standard_units(z)
            return model
        device = _generator_device(generator) if device is None else torch.device(device)
        weight = _random_weight(n_visible, n_hidden, generator, device, dtype)
        visible_bias = torch.zeros(n_visible, device=device, dtype=dtype)
        std = torch.ones(n_visible, device=device, dtype=torch.float64)
        if data is not None:
            mean = _data_mean(data, n_visible)
            visible_bias = mean.to(device=device, dtype=dtype)
            if data.shape[0] > 1:
                std = _data_std(data, n_visible, mean).to(device).clamp_min(_MIN_SIGMA)
        if sigma is not None:
            s = torch.as_tensor(sigma, dtype=torch.float64, device=device)
            if not bool(torch.isfinite(s).all()) or bool((s <= 0).any()):
                raise ValueError("sigma must be positive and finite")
            std = s.expand(n_visible).clone() if s.dim() == 0 else s.reshape(n_visible)
        log_sigma = torch.log(std).to(dtype)
        hidden_bias = torch.zeros(n_hidden, device=device, dtype=dtype)
        return cls(weight, visible_bias, hidden_bias, log_sigma)

    @property
    def sigma(self) -> torch.Tensor:
        """Visible standard deviations ``s : (V,)``."""
        return torch.exp(self.log_sigma)

    def parameters(self) -> dict[str, torch.Tensor]:
        params = super().parameters()
        params["log_sigma"] = self.log_sigma
        return params

    def tensors(self) -> dict[str, torch.Tensor]:
        out = super().tensors()
        out["visible_log_sigma"] = self.log_sigma
        if self.standardized:
            out.update(visible_offset=self.visible_offset, visible_scale=self.visible_scale)
        if self.whitened:
            out["visible_rotation"] = self.visible_rotation
        return out

    def _scale_visible(self, v: torch.Tensor) -> torch.Tensor:
        return self.to_basis(v) * torch.exp(-2.0 * self.log_sigma)

    def _visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        return (((self.to_basis(v) - self.visible_bias) * torch.exp(-self.log_sigma)) ** 2).sum(dim=1) * 0.5

    def visible_mean(self, h: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """``E[v | h] = a + W h`` (independent of beta; rotated back ``(a + W h) R^T`` when whitened):
        ``(n, H)`` -> ``(n, V)``."""
        return self.from_basis(torch.addmm(self.visible_bias, h, self.weight.T))

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator, beta: float = 1.0) -> torch.Tensor:
        """Draw ``v ~ N(a + W h, s^2 / beta)`` (in the basis ``y``, then rotated back when
        whitened): ``(n, H)`` -> ``(n, V)``."""
        mean = torch.addmm(self.visible_bias, h, self.weight.T)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        std = self.sigma if beta == 1.0 else self.sigma / math.sqrt(beta)
        return self.from_basis(noise.mul_(std).add_(mean))


VISIBLE_TYPES: dict[str, type[RBM]] = {"bernoulli": BernoulliRBM, "gaussian": GaussianRBM}


def model_from_tensors(tensors: Mapping[str, torch.Tensor], visible_type: str) -> RBM:
    """Build a model from serialisation-named tensors, checking everything.

    ``tensors`` must hold exactly ``weight (V, H)``, ``visible_bias (V,)``,
    ``hidden_bias (H,)`` and, for ``"gaussian"``, ``visible_log_sigma (V,)`` (plus, for a
    standardised model, both ``visible_offset (V,)`` and ``visible_scale (V,)``, scale > 0; for a
    whitened one also ``visible_rotation (V, V)``, orthogonal);
    all float32 or all float64, all finite, all on one device. Raises
    :class:`InvalidWeights` with a message naming the offending tensor.
    """
    if visible_type not in VISIBLE_TYPES:
        raise InvalidWeights(
            f"unknown visible_type {visible_type!r}: expected one of {sorted(VISIBLE_TYPES)}"
        )
    expected = {"weight", "visible_bias", "hidden_bias"}
    if visible_type == "gaussian":
        expected.add("visible_log_sigma")
        if "visible_offset" in tensors or "visible_scale" in tensors:  # standardisation: both or neither
            expected |= {"visible_offset", "visible_scale"}
        if "visible_rotation" in tensors:  # whitening: a rotation on top of a standardisation
            expected |= {"visible_offset", "visible_scale", "visible_rotation"}
    names = set(tensors)
    missing, extra = sorted(expected - names), sorted(names - expected)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing tensor(s) {missing}")
        if extra:
            parts.append(f"unexpected tensor(s) {extra}")
        raise InvalidWeights(
            f"a {visible_type} RBM needs exactly the tensors {sorted(expected)}: " + "; ".join(parts)
        )
    for name in sorted(expected):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            raise InvalidWeights(f"tensor {name!r} is a {type(t).__name__}, not a tensor")
        if t.dtype not in SUPPORTED_DTYPES:
            raise InvalidWeights(f"tensor {name!r} has dtype {t.dtype}; weights must be float32 or float64")
    w = tensors["weight"]
    if w.dim() != 2 or w.shape[0] < 1 or w.shape[1] < 1:
        raise InvalidWeights(f"'weight' must have shape (n_visible, n_hidden), got {tuple(w.shape)}")
    n_visible, n_hidden = int(w.shape[0]), int(w.shape[1])
    shapes = {"visible_bias": (n_visible,), "hidden_bias": (n_hidden,), "visible_log_sigma": (n_visible,),
              "visible_offset": (n_visible,), "visible_scale": (n_visible,),
              "visible_rotation": (n_visible, n_visible)}
    for name in sorted(expected - {"weight"}):
        t = tensors[name]
        if tuple(t.shape) != shapes[name]:
            raise InvalidWeights(
                f"{name!r} has shape {tuple(t.shape)} but 'weight' is {n_visible}x{n_hidden}, "
                f"so {name!r} must have shape {shapes[name]}"
            )
    dtypes = {tensors[n].dtype for n in expected}
    if len(dtypes) != 1:
        raise InvalidWeights(f"all tensors must share one dtype, got {sorted(str(d) for d in dtypes)}")
    devices = {tensors[n].device for n in expected}
    if len(devices) != 1:
        raise InvalidWeights("all tensors must be on the same device")
    for name in sorted(expected):
        if not bool(torch.isfinite(tensors[name]).all()):
            raise InvalidWeights(f"tensor {name!r} contains NaN or infinite values")
    if "visible_scale" in expected and not bool((tensors["visible_scale"] > 0).all()):
        raise InvalidWeights("tensor 'visible_scale' must be positive (it divides the data)")
    if "visible_rotation" in expected:
        r = tensors["visible_rotation"].to(torch.float64)
        off = float((r.T @ r - torch.eye(n_visible, dtype=torch.float64, device=r.device)).abs().max())
        if off > _ROTATION_TOLERANCE:
            raise InvalidWeights(f"tensor 'visible_rotation' must be orthogonal (R^T R = I; off by {off:.2g}): "
                                 "densities assume |det R| = 1")
    weight = tensors["weight"].contiguous()
    a = tensors["visible_bias"].contiguous()
    b = tensors["hidden_bias"].contiguous()
    if visible_type == "gaussian":
        extra = [tensors[n].contiguous() for n in ("visible_offset", "visible_scale", "visible_rotation")
                 if n in expected]
        return GaussianRBM(weight, a, b, tensors["visible_log_sigma"].contiguous(), *extra)
    return BernoulliRBM(weight, a, b)


# ---------------------------------------------------------------- helpers
def _generator_device(generator: torch.Generator) -> torch.device:
    return torch.device(generator.device) if generator is not None else torch.device("cpu")


def _random_weight(
    n_visible: int, n_hidden: int, generator: torch.Generator, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    if n_visible < 1 or n_hidden < 1:
        raise ValueError(f"n_visible and n_hidden must be positive, got {n_visible} and {n_hidden}")
    gen_device = _generator_device(generator)
    w = torch.randn((n_visible, n_hidden), generator=generator, device=gen_device, dtype=torch.float64)
    return (0.01 * w).to(device=device, dtype=dtype)


def _as_2d(data: torch.Tensor, n_visible: int) -> torch.Tensor:
    data = torch.as_tensor(data)
    if data.dim() != 2 or data.shape[1] != n_visible or data.shape[0] < 1:
        raise InvalidInput(
            f"expected data with shape (n, {n_visible}), got {tuple(data.shape)}"
        )
    return data


def _row_blocks(d: torch.Tensor) -> list[torch.Tensor]:
    """``d : (n, V)`` as views of at most ``_CHECK_CHUNK`` elements: column statistics of a big
    float32 data set in float64 without a float64 copy of all of it."""
    step = max(1, _CHECK_CHUNK // max(1, d.shape[1]))
    return [d[lo : lo + step] for lo in range(0, d.shape[0], step)]


def _data_mean(data: torch.Tensor, n_visible: int) -> torch.Tensor:
    """Column means in float64."""
    d = _as_2d(data, n_visible)
    return sum(b.sum(dim=0, dtype=torch.float64) for b in _row_blocks(d)) / d.shape[0]


def feature_scale(
    data: torch.Tensor, n_visible: int, mean: torch.Tensor | None = None, top_floor: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature scale ``max(std_i, SCALE_FLOOR * median_j std_j)`` and the near-constant mask.

    ``data : (n, V)`` -> ``(V,)`` float64 scale (never 0: an all-constant data set gets 1)
    and ``(V,)`` bool, True where ``std_i`` is below the floor. One row counts as constant.
    """
    d = _as_2d(data, n_visible)
    if mean is None:
        mean = _data_mean(d, n_visible)
    if d.shape[0] > 1:
        std = _data_std(d, n_visible, mean.to(d.device))
    else:
        std = torch.zeros(n_visible, dtype=torch.float64, device=d.device)
    ref = float(std.median())
    if ref <= 0:  # more than half the features constant
        ref = float(std.mean())
    floor = SCALE_FLOOR * ref if ref > 0 else 1.0
    if top_floor > 0 and float(std.max()) > 0:  # whitened components: also relative to the top one
        floor = max(floor, top_floor * float(std.max()))
    near_constant = std < floor
    return torch.where(near_constant, torch.full_like(std, floor), std), near_constant


def principal_axes(data: torch.Tensor, n_visible: int) -> torch.Tensor:
    """Eigenvectors of the data's covariance as the columns of an orthogonal ``(V, V)`` float64
    matrix, by decreasing variance, each signed so its largest entry is positive (the same data
    gives the same rotation). ``data : (n, V)``; one row gives the identity."""
    d = _as_2d(data, n_visible)
    if d.shape[0] < 2:
        return torch.eye(n_visible, dtype=torch.float64, device=d.device)
    mean = _data_mean(d, n_visible).to(d.device)
    cov = sum((c := b.to(torch.float64) - mean).T @ c for b in _row_blocks(d)) / (d.shape[0] - 1)
    _, vectors = torch.linalg.eigh(cov)
    vectors = vectors.flip(1)
    pick = vectors.abs().argmax(dim=0)
    signs = torch.sign(vectors[pick, torch.arange(n_visible, device=d.device)])
    return (vectors * torch.where(signs == 0, 1.0, signs)).contiguous()


def _data_std(data: torch.Tensor, n_visible: int, mean: torch.Tensor) -> torch.Tensor:
    """Column sample std in float64 (two-pass, around ``mean``); needs at least two rows."""
    d = _as_2d(data, n_visible)
    sq = sum((b.to(torch.float64) - mean).square_().sum(dim=0) for b in _row_blocks(d))
    return (sq / (d.shape[0] - 1)).sqrt_()
