"""Parallel tempering (replica exchange) for RBMs, vectorised over chains x replicas.

Tempered family between a hidden-free *base* model ``E_0`` (beta = 0) and the RBM (beta = 1),
the same geometric path as AIS (:mod:`app.rbm.partition`)::

    p_beta(v, h) ∝ exp(-(1 - beta) E_0(v) - beta E(v, h)) = exp(-E_0(v) - beta D(v, h)),
    D(v, h) = E(v, h) - E_0(v)

    bernoulli: E_0(v) = -a0.v                 (a0: log-odds of the data's pixel means)
    gaussian:  E_0(v) = |v - mu0|^2 / (2 s0^2)

so the beta = 0 replica draws exact, independent base samples at every sweep and the ladder
carries them up to the model. Conditionals (``pre = b + (v / s^2) W``)::

    h | v : sigmoid(beta pre)
    bernoulli  v | h : sigmoid((1 - beta) a0 + beta (a + W h))
    gaussian   v | h : N(((1-beta) mu0 / s0^2 + beta (a + W h) / s^2) / P, 1 / P),
                       P = (1 - beta) / s0^2 + beta / s^2

Swaps exchange *joint* states ``(v, h)`` of neighbouring replicas ``r, r+1`` with probability
``min(1, exp((beta_r - beta_{r+1}) (D_r - D_{r+1})))`` (the Metropolis ratio of the product
target; ``D`` is one row-dot of ``pre`` and ``h`` away once ``h`` is drawn). Since the visible step
only reads ``h``, a swap moves just the ``h`` rows.

Layout: all ``R`` replicas of ``C`` chains are the rows of one ``(R C, V)`` block, replica-major
(rows ``r C .. (r+1) C - 1`` are at ``betas[r]``; ``betas[0]`` is the target), each row with its
own beta, so a sweep is one GEMM per layer for every chain of every replica. A sweep is
``h ~ p(h|v)``, one swap round (pairs (0,1), (2,3), ... on even sweeps, (1,2), (3,4), ... on odd
ones), ``v ~ p(v|h)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from app.rbm.errors import InvalidInput
from app.rbm.model import RBM, GaussianRBM, log_odds, softplus
from app.rbm.randomness import UniformSource, check_generator

#: Floor of a data-derived base std (gaussian), so constant pixels stay finite.
_MIN_BASE_SIGMA = 1e-3
#: Replicas when none are asked for (see bench/README.md, parallel tempering).
DEFAULT_REPLICAS = 16


@dataclass
class TemperingBase:
    """The beta = 0 end of the ladder: ``mean`` is the log-odds ``a0`` (bernoulli) or ``mu0``
    (gaussian), ``sigma`` the gaussian ``s0`` (``None`` for bernoulli); both ``(V,)``."""

    mean: torch.Tensor
    sigma: torch.Tensor | None = None


def base_from_data(model: RBM, data: torch.Tensor) -> TemperingBase:
    """Base rate of ``data : (n, V)``: clipped log-odds of the pixel means (bernoulli), or
    the pixel means and stds (gaussian). Computed in float64, returned in the model dtype."""
    if data.dim() != 2 or data.shape[1] != model.n_visible or data.shape[0] < 1:
        raise InvalidInput(f"base data must have shape (n, {model.n_visible}), got {tuple(data.shape)}")
    # in the tensors' own units (RBM.in_basis: a whitened model's rotated ones), where chains run
    d = model.to_basis(data.to(device=model.device, dtype=torch.float64))
    mean = d.mean(dim=0)
    kw = {"dtype": model.dtype}
    if isinstance(model, GaussianRBM):
        sigma = d.std(dim=0).clamp_min(_MIN_BASE_SIGMA) if d.shape[0] > 1 else model.sigma.double()
        return TemperingBase(mean.to(**kw), sigma.to(**kw))
    return TemperingBase(log_odds(mean).to(**kw))


def default_base(model: RBM) -> TemperingBase:
    """Base without data: uniform bits (bernoulli) or ``N(a, s^2)`` (gaussian)."""
    if isinstance(model, GaussianRBM):
        return TemperingBase(model.visible_bias.clone(), model.sigma.clone())
    return TemperingBase(torch.zeros_like(model.visible_bias))


def default_betas(n_replicas: int, beta: float = 1.0) -> list[float]:
    """``n_replicas`` inverse temperatures from ``beta`` down to 0, evenly spaced.

    Even spacing in beta is the right shape for this path: the variance of ``D`` barely changes
    along it, and a swap's acceptance depends on ``(delta beta)^2 var D`` (measured in
    bench/README.md). One replica is plain Gibbs at ``beta``.
    """
    if n_replicas < 1:
        raise InvalidInput(f"n_replicas must be at least 1, got {n_replicas}")
    if n_replicas == 1:
        return [float(beta)]
    return [float(beta) * (1.0 - r / (n_replicas - 1)) for r in range(n_replicas)]


def check_betas(betas: list[float]) -> list[float]:
    """Validate a ladder: finite, in [0, 100], strictly decreasing from the target."""
    out = [float(b) for b in betas]
    if not out:
        raise InvalidInput("betas must hold at least one inverse temperature")
    if any(not math.isfinite(b) or b < 0 or b > 100 for b in out):
        raise InvalidInput("every beta must be finite and in [0, 100]")
    if any(b1 >= b0 for b0, b1 in zip(out, out[1:])):
        raise InvalidInput("betas must decrease strictly: betas[0] is the target, the last the hottest")
    if out[0] <= 0:
        raise InvalidInput("betas[0] (the target) must be positive")
    return out


def respace_betas(betas: list[float], rates: list[float], floor: float = 1e-4) -> list[float]:
    """A ladder with the same ends whose neighbouring pairs should swap about equally often.

    A pair's acceptance is roughly ``exp(-c (delta beta)^2)`` with ``c`` varying slowly along the
    ladder, so ``sqrt(-log a_i)`` is a distance that grows linearly in beta inside each interval.
    The new betas split the summed distance evenly (a one-shot version of the feedback schemes of
    Katzgraber et al. 2006). ``rates[i]`` is the measured acceptance of pair ``(i, i+1)``.
    """
    if len(betas) < 3 or len(rates) != len(betas) - 1:
        return list(betas)
    a = [min(max(r, floor), 1.0 - 1e-6) if r == r else 0.5 for r in rates]  # nan (untried): neutral
    dist = [math.sqrt(-math.log(x)) for x in a]
    cum = [0.0]
    for d in dist:
        cum.append(cum[-1] + d)
    total = cum[-1]
    out = [betas[0]]
    for k in range(1, len(betas) - 1):
        t = total * k / (len(betas) - 1)
        i = next(j for j in range(len(dist)) if cum[j + 1] >= t)
        frac = (t - cum[i]) / dist[i] if dist[i] > 0 else 0.0
        out.append(betas[i] + frac * (betas[i + 1] - betas[i]))
    out.append(betas[-1])
    for k in range(1, len(out)):  # keep strictly decreasing despite round-off
        if out[k] >= out[k - 1]:
            out[k] = out[k - 1] - 1e-9
    return out


class TemperedChains:
    """``n_chains`` parallel-tempering chains of ``len(betas)`` replicas each (see module docs).

    Sampler interface: :meth:`sweep`, :attr:`state` (the target replica's ``(C, V)`` visibles),
    :meth:`free_energy_trace` (``F(v)`` at beta = 1 of the first ``trace_rows`` target chains,
    one row per sweep: the scalar the equilibrium diagnostics read), :attr:`swap_acceptance`.
    """

    def __init__(
        self,
        model: RBM,
        n_chains: int,
        betas: list[float],
        *,
        generator: torch.Generator,
        base: TemperingBase | None = None,
        trace_rows: int = 0,
    ) -> None:
        check_generator(model, generator)
        if n_chains < 1:
            raise InvalidInput(f"n_chains must be at least 1, got {n_chains}")
        self.model = model
        self.generator = generator
        self.betas = check_betas(betas)
        self.n_replicas = R = len(self.betas)
        self.n_chains = C = int(n_chains)
        self.gaussian = isinstance(model, GaussianRBM)
        base = base if base is not None else default_base(model)
        kw = {"device": model.device, "dtype": model.dtype}
        V, H, n = model.n_visible, model.n_hidden, R * C
        self.base_mean = base.mean.to(**kw)
        self.v = torch.zeros((n, V), **kw)
        self.pre = torch.empty((n, H), **kw)
        self.ph = torch.empty((n, H), **kw)
        self.h = torch.empty((n, H), **kw)
        self.pv = torch.empty((n, V), **kw)
        self._u_h = torch.empty((n, H), **kw)
        self._u_v = torch.empty((n, V), **kw)
        self._src = torch.empty((n, V), **kw) if self.gaussian else None
        beta_rows = torch.tensor(self.betas, **kw).repeat_interleave(C)
        self.beta_col = beta_rows[:, None].contiguous()
        self._plain = all(b == 1.0 for b in self.betas)  # one replica at beta 1: plain Gibbs
        if self.gaussian:
            self._inv_var0 = base.sigma.to(**kw).pow(-2)
        else:
            self._v_const = ((1.0 - self.beta_col) * self.base_mean).contiguous()  # (1-beta) a0
        self.D = torch.zeros(n, **kw)
        self._pairs_attempted = torch.zeros(max(R - 1, 0), dtype=torch.float64)
        self._pairs_accepted = torch.zeros(max(R - 1, 0), dtype=torch.float64)
        self._betas_t = torch.tensor(self.betas, **kw)
        self.uniform = UniformSource(generator)
        self.trace_rows = min(int(trace_rows), C)
        self._trace: list[torch.Tensor] = []
        self.sweeps_done = 0

    # ------------------------------------------------------------ state
    @property
    def state(self) -> torch.Tensor:
        """The target replica's visible states ``(C, V)`` (a view)."""
        return self.v[: self.n_chains]

    def set_state(self, v0: torch.Tensor) -> None:
        """Start every replica of chain ``c`` at ``v0[c % len(v0)]``; ``v0 : (m, V)``."""
        self.model.validate_input(v0)
        idx = torch.arange(self.v.shape[0], device=v0.device) % self.n_chains % v0.shape[0]
        self.v.copy_(v0.to(device=self.v.device, dtype=self.v.dtype)[idx])

    @property
    def swap_acceptance(self) -> list[float]:
        """Accepted / attempted swaps of each neighbouring pair ``(r, r+1)`` (``nan`` if none tried)."""
        att, acc = self._pairs_attempted, self._pairs_accepted
        return [float(a / t) if t else float("nan") for a, t in zip(acc.tolist(), att.tolist())]

    def set_betas(self, betas: list[float]) -> None:
        """Move the replicas to a new ladder of the same length (states stay; use during burn-in only)."""
        betas = check_betas(betas)
        if len(betas) != self.n_replicas:
            raise InvalidInput(f"need {self.n_replicas} betas, got {len(betas)}")
        kw = {"device": self.v.device, "dtype": self.v.dtype}
        self.betas = betas
        self._betas_t = torch.tensor(betas, **kw)
        self.beta_col = self._betas_t.repeat_interleave(self.n_chains)[:, None].contiguous()
        self._plain = all(b == 1.0 for b in betas)
        if not self.gaussian:
            self._v_const = ((1.0 - self.beta_col) * self.base_mean).contiguous()

    def adapt_ladder(self, sweeps: int) -> None:
        """Run ``sweeps`` sweeps, respace the betas from their swap rates (:func:`respace_betas`),
        and start counting swaps afresh: a burn-in step, before any sample is kept."""
        self.reset_swap_counts()
        self.sweep(sweeps)
        self.set_betas(respace_betas(self.betas, self.swap_acceptance))
        self.reset_swap_counts()

    def reset_swap_counts(self) -> None:
        """Start counting swap acceptance afresh (e.g. per training epoch)."""
        self._pairs_attempted.zero_()
        self._pairs_accepted.zero_()

    def free_energy_trace(self) -> torch.Tensor:
        """``(sweeps, trace_rows)`` float64: F(v) at beta = 1 of the traced target chains, taken
        at the start of each sweep."""
        if not self._trace:
            return torch.zeros((0, self.trace_rows), dtype=torch.float64)
        return torch.stack(self._trace).to("cpu", torch.float64)

    # ------------------------------------------------------------ sweeps
    def sweep(self, steps: int = 1) -> torch.Tensor:
        """Run ``steps`` sweeps (each: hidden step, swap round, visible step); returns :attr:`state`."""
        with torch.no_grad():
            for _ in range(int(steps)):
                self._hidden_step()
                if self.n_replicas > 1:
                    self._swap_round(self.sweeps_done % 2)
                self._visible_step()
                self.sweeps_done += 1
        return self.state

    def _hidden_step(self) -> None:
        m = self.model
        src = torch.mul(self.v, torch.exp(-2.0 * m.log_sigma), out=self._src) if self.gaussian else self.v
        torch.addmm(m.hidden_bias, src, m.weight, out=self.pre)
        if self.trace_rows:
            k = self.trace_rows
            f = m.visible_energy(self.v[:k]) - softplus(self.pre[:k]).sum(dim=1)
            self._trace.append(f.to(torch.float64))
        if self._plain:
            torch.sigmoid(self.pre, out=self.ph)
        else:
            torch.sigmoid_(torch.mul(self.pre, self.beta_col, out=self.ph))
        torch.lt(self.uniform.fill_(self._u_h), self.ph, out=self.h)

    def _energy_gap(self) -> torch.Tensor:
        """``D = E(v, h) - E_0(v) : (R C,)`` of the current joint states (``pre`` belongs to ``v``)."""
        m = self.model
        rowdot = torch.linalg.vecdot(self.pre, self.h)  # fused multiply-reduce, no (n, H) temporary
        if self.gaussian:
            e0 = ((self.v - self.base_mean).square_() * self._inv_var0).sum(dim=1).mul_(0.5)
            return m.visible_energy(self.v).sub_(e0).sub_(rowdot)
        return torch.mv(self.v, self.base_mean - m.visible_bias).sub_(rowdot)

    def _swap_round(self, parity: int) -> None:
        R, C = self.n_replicas, self.n_chains
        lo = torch.arange(parity, R - 1, 2)
        if lo.numel() == 0:
            return
        D = self._energy_gap().view(R, C)
        dev = D.device
        lo_d = lo.to(dev)
        log_ratio = (self._betas_t[lo_d] - self._betas_t[lo_d + 1])[:, None] * (D[lo_d] - D[lo_d + 1])
        u = self.uniform.fill_(torch.empty_like(log_ratio))
        accept = u < torch.exp(log_ratio.clamp_max(0.0))  # (pairs, C)
        self._pairs_attempted[lo] += C
        self._pairs_accepted[lo] += accept.sum(dim=1).to("cpu", torch.float64)
        pair, chain = torch.nonzero(accept, as_tuple=True)
        if pair.numel():
            a = lo_d[pair] * C + chain
            b = a + C
            # row copies with index_select / index_copy_ (advanced-index assignment is ~50x slower on CPU)
            ha, hb = self.h.index_select(0, a), self.h.index_select(0, b)
            self.h.index_copy_(0, a, hb)
            self.h.index_copy_(0, b, ha)

    def _visible_step(self) -> None:
        m = self.model
        torch.addmm(m.visible_bias, self.h, m.weight.T, out=self.pv)
        if self.gaussian:
            # recomputed each sweep: training moves log_sigma in place
            inv_var, inv_var0, beta = torch.exp(-2.0 * m.log_sigma), self._inv_var0, self.beta_col
            prec = (1.0 - beta) * inv_var0 + beta * inv_var  # (n, V)
            self.pv.mul_(beta * inv_var).add_((1.0 - beta) * (self.base_mean * inv_var0)).div_(prec)
            self._u_v.normal_(generator=self.generator).mul_(prec.rsqrt_())
            torch.add(self.pv, self._u_v, out=self.v)
            return
        if not self._plain:
            torch.addcmul(self._v_const, self.pv, self.beta_col, out=self.pv)
        torch.sigmoid_(self.pv)
        torch.lt(self.uniform.fill_(self._u_v), self.pv, out=self.v)
