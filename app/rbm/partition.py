"""Log partition function: exact enumeration and annealed importance sampling.

Exact (:func:`exact_log_partition`):

* Bernoulli: enumerate the smaller layer. Over hidden states
  ``log Z = logsumexp_h [b.h + sum_i softplus(a_i + (W h)_i)]``; over visible
  states ``log Z = logsumexp_v [-F(v)]``.
* Gaussian: for each hidden state the visible integral is Gaussian::

      log Z = sum_i log(sqrt(2 pi) s_i)
              + logsumexp_h [b.h + sum_i ((W h)_i^2 + 2 a_i (W h)_i) / (2 s_i^2)]

  so ``2^H`` states are enumerated whatever V is.

AIS (:func:`ais_log_partition`) follows Salakhutdinov & Murray (2008); see
its docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable

import torch

from app.rbm._enumerate import _softplus_out, logsumexp_over_states
from app.rbm.errors import InvalidInput, TooLarge
from app.rbm.model import RBM, BernoulliRBM, GaussianRBM, log_odds, softplus
from app.rbm.randomness import UniformSource


def exact_log_partition(model: RBM, *, max_bits: int = 24, chunk_size: int = 1 << 16) -> float:
    """Exact ``log Z`` by enumerating ``2^min(V, H)`` (bernoulli) or ``2^H`` (gaussian) states.

    Raises :class:`TooLarge` when the enumerated layer has more than
    ``max_bits`` units. Work is chunked so temporaries stay below ~100 MiB
    even for 2^24 states; accumulation is float64 whatever the model dtype.
    """
    with torch.no_grad():
        W, a, b = model.weight, model.visible_bias, model.hidden_bias
        if isinstance(model, GaussianRBM):
            bits = model.n_hidden
            _check_bits(bits, max_bits, "hidden units (a gaussian model enumerates 2^n_hidden states)")
            inv_var = torch.exp(-2.0 * model.log_sigma)
            half_inv_var = 0.5 * inv_var
            two_a = 2.0 * a

            def quad(x: torch.Tensor) -> torch.Tensor:
                return (x + two_a).mul_(x).mul_(half_inv_var)

            const = float((model.log_sigma.to(torch.float64) + 0.5 * math.log(2 * math.pi)).sum())
            zero = torch.zeros_like(a)
            return const + logsumexp_over_states(b, zero, W.T, quad, chunk_size=chunk_size)
        bits = min(model.n_visible, model.n_hidden)
        _check_bits(bits, max_bits, "units in the smaller layer")
        if model.n_hidden <= model.n_visible:
            return logsumexp_over_states(b, a, W.T, softplus, chunk_size=chunk_size)
        return logsumexp_over_states(a, b, W, softplus, chunk_size=chunk_size)


def _check_bits(bits: int, max_bits: int, what: str) -> None:
    if bits > max_bits:
        raise TooLarge(
            f"exact partition function needs 2^{bits} terms ({bits} {what}), above the limit of "
            f"2^{max_bits}; use ais_log_partition instead"
        )


@dataclass
class AISResult:
    """Outcome of :func:`ais_log_partition`.

    ``log_z``: the estimate. ``log_z_std``: delta-method standard error of
    ``log mean(w)``, i.e. ``std(w) / (sqrt(n_runs) * mean(w))`` computed from the
    normalised importance weights (small-error approximation; it understates
    the error when a few weights dominate). ``log_weights : (n_runs,)`` float64:
    forward runs give ``log w`` with ``log Z = log Z_0 + log mean w``; reverse
    runs give ``log w`` with ``log Z = log Z_0 - log mean w``.
    """

    log_z: float
    log_z_std: float
    log_weights: torch.Tensor


def default_betas(n_betas: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Inverse temperatures ``0 = beta_0 < ... < beta_K = 1`` (``n_betas`` points, float64).

    Same shape as Salakhutdinov & Murray's schedule (500 / 4000 / 10000 steps on
    [0, .5), [.5, .9), [.9, 1]) scaled to ``n_betas`` points.
    """
    if n_betas < 2:
        raise ValueError(f"n_betas must be at least 2, got {n_betas}")
    n1 = max(1, round(n_betas * 500 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    n3 = max(1, n_betas - n1 - n2)
    kw = {"device": device, "dtype": torch.float64}
    parts = [
        torch.linspace(0.0, 0.5, n1 + 1, **kw)[:-1],
        torch.linspace(0.5, 0.9, n2 + 1, **kw)[:-1],
        torch.linspace(0.9, 1.0, n3, **kw),
    ]
    return torch.cat(parts)[: max(n_betas, 2)]


class _AnnealedPath:
    """Geometric path between a hidden-free base model (beta=0) and the RBM (beta=1).

    Unnormalised marginals, with ``pre = b + (v / s^2) W``::

        bernoulli: log p*_beta(v) = ((1-beta) a0 + beta a).v + sum_j softplus(beta pre_j)
        gaussian:  log p*_beta(v) = -(1-beta) |v - mu0|^2_{s0} / 2 - beta |v - a|^2_{s} / 2
                                    + sum_j softplus(beta pre_j)

    i.e. the joint energy ``(1-beta) E_base + beta E_rbm`` with the hidden units
    summed out; ``log Z_0 = H log 2 + log Z_base``.
    """

    def __init__(self, model: RBM, base_mean: torch.Tensor, base_sigma: torch.Tensor | None) -> None:
        self.m = model
        self.gaussian = isinstance(model, GaussianRBM)
        self.base = base_mean.to(device=model.device, dtype=model.dtype)
        H = model.n_hidden
        if self.gaussian:
            self.s0 = base_sigma.to(device=model.device, dtype=model.dtype)
            self.inv_var0 = self.s0.pow(-2)
            self.inv_var = torch.exp(-2.0 * model.log_sigma)
            self.log_z0 = H * math.log(2.0) + float(
                (torch.log(self.s0.to(torch.float64)) + 0.5 * math.log(2 * math.pi)).sum()
            )
        else:
            self.log_z0 = H * math.log(2.0) + float(softplus(self.base.to(torch.float64)).sum())

    def sample_base(self, n: int, g: torch.Generator) -> torch.Tensor:
        m = self.m
        kw = {"device": m.device, "dtype": m.dtype}
        if self.gaussian:
            return torch.empty((n, m.n_visible), **kw).normal_(generator=g).mul_(self.s0).add_(self.base)
        u = torch.empty((n, m.n_visible), **kw).uniform_(generator=g)
        return torch.lt(u, torch.sigmoid(self.base), out=u)

    def preactivation(self, v: torch.Tensor) -> torch.Tensor:
        return self.m.hidden_preactivation(v)

    def visible_term(self, v: torch.Tensor) -> torch.Tensor:
        """``d log p*_beta / d beta`` minus its hidden part: ``(n, V)`` -> ``(n,)``."""
        if self.gaussian:
            base = ((v - self.base).square() * self.inv_var0).sum(dim=1)
            rbm = ((v - self.m.visible_bias).square() * self.inv_var).sum(dim=1)
            return 0.5 * (base - rbm)
        return v @ (self.m.visible_bias - self.base)

    def log_ratio(self, v: torch.Tensor, pre: torch.Tensor, beta_hi: float, beta_lo: float) -> torch.Tensor:
        """``log p*_hi(v) - log p*_lo(v)`` as float64 ``(n,)``."""
        d = (beta_hi - beta_lo) * self.visible_term(v)
        d = d + softplus(pre * beta_hi).sum(dim=1) - softplus(pre * beta_lo).sum(dim=1)
        return d.to(torch.float64)

    def transition(self, v: torch.Tensor, pre: torch.Tensor, beta: float, g: torch.Generator) -> torch.Tensor:
        """One Gibbs sweep leaving ``p_beta`` invariant (``pre`` must belong to ``v``)."""
        m = self.m
        ph = torch.sigmoid(pre * beta)
        h = torch.lt(torch.empty_like(ph).uniform_(generator=g), ph).to(ph.dtype)
        wh = h @ m.weight.T
        if self.gaussian:
            prec = (1.0 - beta) * self.inv_var0 + beta * self.inv_var
            mean = ((1.0 - beta) * self.base * self.inv_var0 + beta * (m.visible_bias + wh) * self.inv_var) / prec
            return torch.empty_like(mean).normal_(generator=g).mul_(prec.rsqrt()).add_(mean)
        pv = torch.sigmoid((1.0 - beta) * self.base + beta * (m.visible_bias + wh))
        return torch.lt(torch.empty_like(pv).uniform_(generator=g), pv).to(pv.dtype)


class _GenericAIS:
    """AIS runs on :class:`_AnnealedPath` as written (any visible type); the interface that
    :func:`ais_log_partition` drives, shared with :class:`_BernoulliAIS`."""

    def __init__(self, path: _AnnealedPath, v: torch.Tensor, generator: torch.Generator) -> None:
        self.path, self.v, self.generator = path, v, generator
        self.pre = torch.empty(0)  # set by refresh()/log_ratio() before any transition

    def refresh(self) -> None:
        """Recompute ``pre`` for the current ``v``."""
        self.pre = self.path.preactivation(self.v)

    def log_ratio(self, beta_hi: float, beta_lo: float) -> torch.Tensor:
        """``log p*_hi(v) - log p*_lo(v)`` (float64 ``(n,)``); leaves ``pre`` for the transition."""
        self.refresh()
        return self.path.log_ratio(self.v, self.pre, beta_hi, beta_lo)

    def transition(self, beta: float) -> None:
        """One Gibbs sweep at ``beta`` (``pre`` must belong to the current ``v``)."""
        self.v = self.path.transition(self.v, self.pre, beta, self.generator)


class _BernoulliAIS:
    """Preallocated AIS runs for a bernoulli model: one step is two GEMMs plus in-place passes.

    Per inverse temperature it computes ``pre = b + v W`` once and uses it for both
    softplus sums of the weight update and for ``p(h | v)``; the visible conditional
    ``sigmoid((1-beta) a0 + beta (a + W h))`` is one ``addmm`` with ``alpha = beta``.
    Uniforms come from :class:`UniformSource`. Same path and estimator as
    :class:`_GenericAIS`, without its per-step temporaries.
    """

    def __init__(self, path: _AnnealedPath, v: torch.Tensor, generator: torch.Generator) -> None:
        m = path.m
        self.m, self.path = m, path
        n, kw = v.shape[0], {"device": m.device, "dtype": m.dtype}
        self.v = v.contiguous().clone()
        self.pre = torch.empty((n, m.n_hidden), **kw)
        self.tmp = torch.empty((n, m.n_hidden), **kw)
        self.tmp2 = torch.empty((n, m.n_hidden), **kw)
        self.h = torch.empty((n, m.n_hidden), **kw)
        self.pv = torch.empty((n, m.n_visible), **kw)
        self.u_h = torch.empty((n, m.n_hidden), **kw)
        self.u_v = torch.empty((n, m.n_visible), **kw)
        self.diff = (m.visible_bias - path.base).contiguous()
        self.uniform = UniformSource(generator)

    def refresh(self) -> None:
        """Recompute ``pre`` for the current ``v``."""
        torch.addmm(self.m.hidden_bias, self.v, self.m.weight, out=self.pre)

    def log_ratio(self, beta_hi: float, beta_lo: float) -> torch.Tensor:
        """``log p*_hi(v) - log p*_lo(v)`` (float64 ``(n,)``); leaves ``pre`` for the transition.

        The softplus terms are differenced per element, ``softplus(b_hi x) - softplus(b_lo x)``, and
        only then summed: the differences are small, so a float32 sum of them loses nothing that the
        float32 softplus values did not already carry, and no float64 copy of ``(n, H)`` is made
        (two such copies per beta were a quarter of an AIS run's time; bench/README.md)."""
        self.refresh()
        d = (self.v @ self.diff).mul_(beta_hi - beta_lo).to(torch.float64)
        hi = self._softplus(beta_hi, self.tmp)
        lo = self._softplus(beta_lo, self.tmp2)
        d += hi.sub_(lo).sum(dim=1).to(torch.float64)
        return d

    def _softplus(self, beta: float, out: torch.Tensor) -> torch.Tensor:
        """``softplus(beta pre)`` into ``out`` ``(n, H)``: torch's ``softplus(x, beta)`` scales inside
        its one pass (no separate ``beta * pre`` pass), then one multiply by ``beta``."""
        if beta == 0.0:
            return out.fill_(math.log(2.0))
        return _softplus_out(self.pre, out, beta).mul_(beta)

    def transition(self, beta: float) -> None:
        """One Gibbs sweep at ``beta`` (``pre`` must belong to the current ``v``)."""
        m = self.m
        torch.sigmoid_(torch.mul(self.pre, beta, out=self.tmp))
        torch.lt(self.uniform.fill_(self.u_h), self.tmp, out=self.h)
        c = torch.add(self.path.base, self.diff, alpha=beta)  # (1-beta) a0 + beta a
        torch.sigmoid_(torch.addmm(c, self.h, m.weight.T, alpha=beta, out=self.pv))
        torch.lt(self.uniform.fill_(self.u_v), self.pv, out=self.v)


#: How often (in betas) the AIS loops report progress: ~100 reports per run.
_PROGRESS_REPORTS = 100

#: ``progress(done, total)`` after a block of betas; it may raise to abandon the run
#: (a cancelled job, a client that went away).
ProgressCallback = Callable[[int, int], None]


def ais_base(model: RBM, *, base_visible_bias: torch.Tensor | None = None,
             data: torch.Tensor | None = None) -> _AnnealedPath:
    """The annealing path from a tractable base model (beta = 0) to ``model`` (beta = 1).

    Base model: no weights and, for bernoulli, visible bias ``base_visible_bias`` or else the
    clipped log-odds of ``data``'s mean, else 0; for gaussian, mean ``base_visible_bias`` or
    ``data``'s mean or the model's ``a``, and std ``data``'s std (floored at 1e-3) or the model's sigma.
    ``data`` and ``base_visible_bias`` are in the user's units; a whitened model's path runs over its
    basis (:meth:`~app.rbm.model.RBM.in_basis`), and :func:`ais_reverse` carries its starts there.
    """
    if data is not None:
        model.validate_input(data)
        if data.shape[0] < 1:
            raise InvalidInput("data must contain at least one row")
        data = model.to_basis(data)
    # a whitened model anneals over its basis (RBM.in_basis; |det R| = 1, so log Z is the same);
    # data, base_visible_bias (a gaussian mean) and reverse-AIS starts are carried there
    user, model = model, model.in_basis()
    if base_visible_bias is not None and user is not model:
        base_visible_bias = user.to_basis(torch.as_tensor(base_visible_bias, device=model.device,
                                                          dtype=model.dtype).reshape(1, -1))[0]
    dev = model.device
    d64 = None if data is None else data.to(device=dev, dtype=torch.float64)
    base_sigma = None
    if isinstance(model, GaussianRBM):
        if base_visible_bias is not None:
            base_mean = torch.as_tensor(base_visible_bias, device=dev, dtype=torch.float64)
        elif d64 is not None:
            base_mean = d64.mean(dim=0)
        else:
            base_mean = model.visible_bias.to(torch.float64)
        if d64 is not None and d64.shape[0] > 1:
            base_sigma = d64.std(dim=0).clamp_min(1e-3)
        else:
            base_sigma = model.sigma.to(torch.float64)
    elif base_visible_bias is not None:
        base_mean = torch.as_tensor(base_visible_bias, device=dev, dtype=torch.float64)
    elif d64 is not None:
        base_mean = log_odds(d64.mean(dim=0))
    else:
        base_mean = torch.zeros(model.n_visible, device=dev, dtype=torch.float64)
    if base_mean.shape != (model.n_visible,):
        raise InvalidInput(f"base_visible_bias must have shape ({model.n_visible},)")
    path = _AnnealedPath(model, base_mean, base_sigma)
    path.user_model = user
    return path


def _schedule(n_betas: int, betas: torch.Tensor | None) -> list[float]:
    schedule = (default_betas(n_betas) if betas is None else torch.as_tensor(betas, dtype=torch.float64)).tolist()
    if schedule[0] != 0.0 or schedule[-1] != 1.0 or any(b1 <= b0 for b0, b1 in zip(schedule, schedule[1:])):
        raise ValueError("betas must increase strictly from 0 to 1")
    return schedule


def _runner(path: _AnnealedPath, v: torch.Tensor, generator: torch.Generator) -> _GenericAIS | _BernoulliAIS:
    return (_BernoulliAIS if isinstance(path.m, BernoulliRBM) else _GenericAIS)(path, v, generator)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None and (done == total or done % max(1, total // _PROGRESS_REPORTS) == 0):
        progress(done, total)


def _result(path: _AnnealedPath, log_w: torch.Tensor, reverse: bool) -> AISResult:
    n_runs = log_w.shape[0]
    log_mean_w = float(torch.logsumexp(log_w, dim=0)) - math.log(n_runs)
    w = torch.exp(log_w - log_w.max())
    std = float(w.std() / (math.sqrt(n_runs) * w.mean())) if n_runs > 1 else float("inf")
    log_z = path.log_z0 - log_mean_w if reverse else path.log_z0 + log_mean_w
    return AISResult(log_z=log_z, log_z_std=std, log_weights=log_w.cpu())


def ais_forward(path: _AnnealedPath, *, n_runs: int, schedule: list[float], generator: torch.Generator,
                progress: ProgressCallback | None = None) -> AISResult:
    """Forward AIS from exact base samples: a stochastic *lower* bound (``E[log Z_hat] <= log Z``)."""
    with torch.no_grad():
        K = len(schedule) - 1
        log_w = torch.zeros(n_runs, device=path.m.device, dtype=torch.float64)
        runs = _runner(path, path.sample_base(n_runs, generator), generator)
        for k in range(1, K + 1):
            log_w += runs.log_ratio(schedule[k], schedule[k - 1])
            if k < K:
                runs.transition(schedule[k])
            _report(progress, k, K)
        return _result(path, log_w, reverse=False)


def ais_reverse(path: _AnnealedPath, *, n_runs: int, schedule: list[float], generator: torch.Generator,
                data: torch.Tensor, burn_in: int = 0, progress: ProgressCallback | None = None) -> AISResult:
    """Reverse AIS (Burda, Grosse & Salakhutdinov 2015) from ``data`` rows (cycled to ``n_runs``),
    taken as approximate model samples after ``burn_in`` Gibbs sweeps, annealed from beta = 1 to 0.
    It estimates ``1 / Z``: a stochastic *upper* bound when the starts really follow the model."""
    model = path.m
    data = getattr(path, "user_model", model).to_basis(data.to(device=model.device, dtype=model.dtype))
    with torch.no_grad():
        K = len(schedule) - 1
        log_w = torch.zeros(n_runs, device=model.device, dtype=torch.float64)
        idx = torch.arange(n_runs, device=model.device) % data.shape[0]
        runs = _runner(path, data.to(device=model.device, dtype=model.dtype)[idx], generator)
        for _ in range(burn_in):
            runs.refresh()
            runs.transition(1.0)
        for k in range(K, 0, -1):
            log_w -= runs.log_ratio(schedule[k], schedule[k - 1])
            if k > 1:
                runs.transition(schedule[k - 1])
            _report(progress, K - k + 1, K)
        return _result(path, log_w, reverse=True)


def ais_log_partition(
    model: RBM,
    *,
    n_runs: int = 100,
    n_betas: int = 10000,
    generator: torch.Generator,
    base_visible_bias: torch.Tensor | None = None,
    data: torch.Tensor | None = None,
    reverse: bool = False,
    burn_in: int = 0,
    betas: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
) -> AISResult:
    """Annealed importance sampling estimate of ``log Z`` (Salakhutdinov & Murray 2008):
    :func:`ais_base` then :func:`ais_forward` or (``reverse=True``, needs ``data``)
    :func:`ais_reverse`. ``n_betas`` inverse temperatures (:func:`default_betas` unless
    ``betas`` is given) with one block-Gibbs transition per intermediate beta."""
    if n_runs < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}")
    if reverse and data is None:
        raise InvalidInput("reverse AIS needs data vectors to start its chains from")
    with torch.no_grad():
        path = ais_base(model, base_visible_bias=base_visible_bias, data=data)
        schedule = _schedule(n_betas, betas)
        if not reverse:
            return ais_forward(path, n_runs=n_runs, schedule=schedule, generator=generator, progress=progress)
        assert data is not None
        return ais_reverse(path, n_runs=n_runs, schedule=schedule, generator=generator, data=data,
                           burn_in=burn_in, progress=progress)
