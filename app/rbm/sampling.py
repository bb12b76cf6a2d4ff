"""MCMC samplers for RBMs: block Gibbs and Metropolis-Hastings (parallel tempering: ``tempering``).

Every sampler has the same small interface (:class:`Sampler`): ``sweep(k)`` runs ``k`` sweeps,
``state`` is the ``(n_chains, V)`` visible state, and ``free_energy_trace()`` returns ``F(v)`` (at
beta = 1) of the first ``trace_rows`` chains at the start of every sweep, which
:mod:`app.rbm.diagnostics` reads.

All randomness comes from an explicit ``torch.Generator`` living on the
model's device, so a fixed seed reproduces the same chains on the same device.
Hot loops run under ``torch.no_grad`` on preallocated buffers (``addmm(out=)``,
in-place uniform draws compared against probabilities).

Shapes: chains ``v : (n_chains, V)``, hidden states ``h : (n_chains, H)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import torch

from app.rbm.diagnostics import Diagnostics, diagnose
from app.rbm.errors import InvalidInput
from app.rbm.model import RBM, GaussianRBM, softplus
from app.rbm.randomness import UniformSource, check_generator

class Sampler(Protocol):
    """What the sampling service, training and the diagnostics need from any sampler."""

    def sweep(self, steps: int = 1) -> torch.Tensor: ...

    @property
    def state(self) -> torch.Tensor: ...

    def free_energy_trace(self) -> torch.Tensor: ...


def _stack_trace(trace: list[torch.Tensor], rows: int) -> torch.Tensor:
    if not trace:
        return torch.zeros((0, rows), dtype=torch.float64)
    return torch.stack(trace).to("cpu", torch.float64)


class GibbsChains:
    """A batch of block-Gibbs chains with preallocated buffers.

    ``v`` holds the visible state ``(n, V)``, ``h`` the last hidden sample
    ``(n, H)`` and ``ph`` the last ``p(h = 1 | v)``. The model's tensors are
    read at every step, so in-place parameter updates are seen immediately.
    For Bernoulli visibles the visible state is always a binary sample.
    ``trace_rows > 0`` records ``F(v)`` (beta = 1) of the first chains at every
    :meth:`hidden_probs`, from the pre-activation it computes anyway.
    """

    def __init__(
        self,
        model: RBM,
        n_chains: int,
        *,
        generator: torch.Generator,
        beta: float = 1.0,
        trace_rows: int = 0,
    ) -> None:
        self.model = model
        self.generator = generator
        self.beta = float(beta)
        self.trace_rows = min(int(trace_rows), int(n_chains))
        self._trace: list[torch.Tensor] = []
        self.gaussian = isinstance(model, GaussianRBM)
        kw = {"device": model.device, "dtype": model.dtype}
        v_dim, h_dim = model.n_visible, model.n_hidden
        self.v = torch.zeros((n_chains, v_dim), **kw)
        self.h = torch.zeros((n_chains, h_dim), **kw)
        self.ph = torch.zeros((n_chains, h_dim), **kw)
        self.pv = torch.zeros((n_chains, v_dim), **kw)
        self._u_v = torch.empty((n_chains, v_dim), **kw)
        self._u_h = torch.empty((n_chains, h_dim), **kw)
        self._vs = torch.empty((n_chains, v_dim), **kw) if self.gaussian else None
        self.uniform = UniformSource(generator)

    @property
    def n_chains(self) -> int:
        return int(self.v.shape[0])

    @property
    def state(self) -> torch.Tensor:
        return self.v

    def free_energy_trace(self) -> torch.Tensor:
        """``(sweeps, trace_rows)`` float64 free energies (see the class docs)."""
        return _stack_trace(self._trace, self.trace_rows)

    def hidden_probs(self) -> torch.Tensor:
        """Set and return ``ph = p(h = 1 | v)`` for the current visible state."""
        m = self.model
        src = self.v
        if self.gaussian:
            src = torch.mul(self.v, torch.exp(-2.0 * m.log_sigma), out=self._vs)
        torch.addmm(m.hidden_bias, src, m.weight, out=self.ph)
        if self.trace_rows:
            k = self.trace_rows
            self._trace.append((m.visible_energy(self.v[:k]) - softplus(self.ph[:k]).sum(dim=1)).double())
        if self.beta != 1.0:
            self.ph.mul_(self.beta)
        return torch.sigmoid(self.ph, out=self.ph)

    def sample_hidden(self) -> torch.Tensor:
        """Draw ``h ~ Bernoulli(ph)`` (call :meth:`hidden_probs` first)."""
        self.uniform.fill_(self._u_h)
        return torch.lt(self._u_h, self.ph, out=self.h)

    def sample_visible(self) -> torch.Tensor:
        """Draw ``v ~ p(v | h)`` in place; ``pv`` keeps the conditional mean."""
        m = self.model
        torch.addmm(m.visible_bias, self.h, m.weight.T, out=self.pv)
        if self.gaussian:
            std = torch.exp(m.log_sigma)
            if self.beta != 1.0:
                std = std / math.sqrt(self.beta)
            self._u_v.normal_(generator=self.generator).mul_(std)
            return torch.add(self.pv, self._u_v, out=self.v)
        if self.beta != 1.0:
            self.pv.mul_(self.beta)
        torch.sigmoid(self.pv, out=self.pv)
        self.uniform.fill_(self._u_v)
        return torch.lt(self._u_v, self.pv, out=self.v)

    def sweep(self, steps: int = 1) -> torch.Tensor:
        """Run ``steps`` full sweeps ``v -> h -> v``; returns the visible buffer."""
        for _ in range(steps):
            self.hidden_probs()
            self.sample_hidden()
            self.sample_visible()
        return self.v



def random_visible(model: RBM, n: int, generator: torch.Generator) -> torch.Tensor:
    """Random start states ``(n, V)``: uniform {0,1} (bernoulli) or ``N(a, s^2)`` (gaussian)."""
    kw = {"device": model.device, "dtype": model.dtype}
    if isinstance(model, GaussianRBM):
        z = torch.empty((n, model.n_visible), **kw).normal_(generator=generator)
        return model.from_basis(z.mul_(model.sigma).add_(model.visible_bias))
    u = torch.empty((n, model.n_visible), **kw).uniform_(generator=generator)
    return torch.lt(u, 0.5, out=u)


def gibbs(
    model: RBM,
    v0: torch.Tensor,
    steps: int,
    *,
    generator: torch.Generator,
    beta: float = 1.0,
) -> torch.Tensor:
    """Run ``steps`` block-Gibbs sweeps from ``v0 : (n, V)``; returns the final ``(n, V)``.

    ``v0`` is not modified. With ``steps = 0`` a copy of ``v0`` comes back.
    """
    model.validate_input(v0)
    check_generator(model, generator)
    with torch.no_grad():
        return make_sampler(model, v0, sampler="gibbs", generator=generator, beta=beta, trace_rows=0).sweep(int(steps))


class _Metropolis:
    """Vectorised single-site Metropolis-Hastings on ``p(v) ∝ exp(-beta F(v))``.

    Keeps the hidden pre-activation ``pre = b + (v/s^2) W : (n, H)`` and the
    per-chain ``S = sum_j softplus(beta pre_j) : (n,)`` up to date with an
    O(H) rank-one update after every accepted proposal, and recomputes them
    with one GEMM at the start of each sweep to stop round-off drift.

    Bernoulli: proposal = flip of site i. Gaussian: ``v_i + step_i * N(0,1)``
    (single-site random walk). Sites are visited in order 0..V-1; one sweep is
    V proposals per chain.
    """

    def __init__(
        self,
        model: RBM,
        v0: torch.Tensor,
        generator: torch.Generator,
        beta: float,
        step_size: float | torch.Tensor | None,
        trace_rows: int = 0,
    ) -> None:
        self.model = model
        self.g = generator
        self.trace_rows = min(int(trace_rows), int(v0.shape[0]))
        self._trace: list[torch.Tensor] = []
        self.beta = float(beta)
        self.gaussian = isinstance(model, GaussianRBM)
        self.v = v0.to(device=model.device, dtype=model.dtype).clone()
        n, h_dim = self.v.shape[0], model.n_hidden
        kw = {"device": model.device, "dtype": model.dtype}
        self.pre = torch.empty((n, h_dim), **kw)
        self.new_pre = torch.empty((n, h_dim), **kw)
        self.sp = torch.empty((n, h_dim), **kw)
        self.u = torch.empty((n, model.n_visible), **kw)
        self.uniform = UniformSource(generator)
        self.accepted = torch.zeros((), dtype=torch.float64, device=model.device)
        self.proposed = 0
        if self.gaussian:
            inv_var = torch.exp(-2.0 * model.log_sigma)
            self.inv_var = inv_var
            # Rows of W already divided by s_i^2: the pre-activation change per unit move of v_i.
            self.w_rows = model.weight * inv_var[:, None]
            if step_size is None:
                step = 2.0 * model.sigma / math.sqrt(self.beta)
            else:
                step = torch.as_tensor(step_size, **kw).expand(model.n_visible)
            self.step = step.to(**kw).contiguous()
            self.eps = torch.empty((n, model.n_visible), **kw)
        else:
            self.w_rows = model.weight

    def _refresh(self) -> None:
        m = self.model
        src = self.v * self.inv_var if self.gaussian else self.v
        torch.addmm(m.hidden_bias, src, m.weight, out=self.pre)
        self.S = softplus(self.pre * self.beta).sum(dim=1)
        if self.trace_rows:
            k = self.trace_rows
            self._trace.append((m.visible_energy(self.v[:k]) - softplus(self.pre[:k]).sum(dim=1)).double())

    @property
    def state(self) -> torch.Tensor:
        return self.v

    def free_energy_trace(self) -> torch.Tensor:
        return _stack_trace(self._trace, self.trace_rows)

    def sweep(self, steps: int = 1) -> torch.Tensor:
        """``steps`` sweeps of single-site proposals; returns the state."""
        for _ in range(int(steps)):
            self._sweep_once()
        return self.v

    def _sweep_once(self) -> None:
        m, beta = self.model, self.beta
        self._refresh()
        self.uniform.fill_(self.u)
        log_u = torch.log(self.u)
        if self.gaussian:
            self.eps.normal_(generator=self.g).mul_(self.step)
        a = m.visible_bias
        for i in range(m.n_visible):
            vi = self.v[:, i]
            if self.gaussian:
                delta = self.eps[:, i]
                new_vi = vi + delta
                d_vis = ((new_vi - a[i]) ** 2 - (vi - a[i]) ** 2) * (0.5 * self.inv_var[i])
            else:
                delta = 1.0 - 2.0 * vi  # +1 turns a 0 on, -1 turns a 1 off
                new_vi = vi + delta
                d_vis = -a[i] * delta
            # new_pre = pre + delta * w_i  (rank-one, O(n H))
            torch.addcmul(self.pre, delta[:, None], self.w_rows[i][None, :], out=self.new_pre)
            torch.mul(self.new_pre, beta, out=self.sp)
            new_S = softplus(self.sp).sum(dim=1)
            d_free = beta * d_vis - (new_S - self.S)  # F_beta(v') - F_beta(v)
            accept = log_u[:, i] < -d_free
            self.accepted += accept.sum()
            acc_col = accept[:, None]
            torch.where(acc_col, self.new_pre, self.pre, out=self.pre)
            self.S = torch.where(accept, new_S, self.S)
            self.v[:, i] = torch.where(accept, new_vi, vi)
        self.proposed += self.v.shape[0] * m.n_visible

    @property
    def acceptance_rate(self) -> float:
        return float(self.accepted) / self.proposed if self.proposed else float("nan")


def metropolis(
    model: RBM,
    v0: torch.Tensor,
    sweeps: int,
    *,
    generator: torch.Generator,
    beta: float = 1.0,
    step_size: float | torch.Tensor | None = None,
) -> tuple[torch.Tensor, float]:
    """Single-site Metropolis-Hastings on ``p_beta(v) ∝ exp(-beta F(v))``.

    ``v0 : (n, V)`` starts ``n`` independent chains; one sweep proposes a
    change of every site once, in order 0..V-1. Bernoulli: the proposal flips
    the site. Gaussian: ``v_i + step_i * N(0, 1)`` with ``step_size`` a scalar
    or ``(V,)`` tensor (default ``2 * s_i / sqrt(beta)``).

    Returns ``(v : (n, V), acceptance_rate)``; the rate is over all proposals
    (``nan`` for ``sweeps = 0``).
    """
    model.validate_input(v0)
    check_generator(model, generator)
    with torch.no_grad():
        mh = make_sampler(model, v0, sampler="metropolis", generator=generator, beta=beta, step_size=step_size,
                          trace_rows=0)
        return mh.sweep(int(sweeps)), mh.acceptance_rate


#: Chains whose free energy is traced for the diagnostics (more only adds precision).
DEFAULT_TRACE_ROWS = 128


@dataclass
class SampleResult:
    """Output of :func:`draw_samples`.

    ``samples : (n_samples, V)``; ``hidden : (n_samples, H)`` drawn from
    ``p(h | v)`` for each returned sample (or ``None``); ``acceptance_rate``
    for the Metropolis sampler (``None`` otherwise); ``swap_acceptance`` per
    neighbouring replica pair and the ``betas`` ladder for parallel tempering;
    ``diagnostics`` of the free-energy trace; ``sweeps`` run per chain.
    """

    samples: torch.Tensor
    hidden: torch.Tensor | None
    acceptance_rate: float | None
    swap_acceptance: list[float] | None = None
    betas: list[float] | None = None
    diagnostics: Diagnostics | None = None
    sweeps: int = 0
    n_chains: int = 0


def start_states(model: RBM, init: Literal["random"] | torch.Tensor, n_chains: int,
                 generator: torch.Generator) -> torch.Tensor:
    """``(n_chains, V)`` start states: random, or the rows of ``init`` cycled over the chains."""
    if isinstance(init, str):
        if init != "random":
            raise InvalidInput(f"init must be 'random' or a tensor of visible vectors, got {init!r}")
        return random_visible(model, n_chains, generator)
    model.validate_input(init)
    if init.shape[0] < 1:
        raise InvalidInput("init must contain at least one visible vector")
    init = init.to(device=model.device, dtype=model.dtype)
    idx = torch.arange(n_chains, device=model.device) % init.shape[0]
    return init[idx]


class InBasis:
    """A sampler running in a model's basis (:meth:`~app.rbm.model.RBM.in_basis`) seen in the
    user's units: ``state`` rotated back, ``sweep`` returns it; free energies are the same in both
    (the rotation has ``|det| = 1``); any other attribute (``swap_acceptance``, ``adapt_ladder``,
    ...) is the inner sampler's."""

    def __init__(self, model: RBM, inner: Sampler) -> None:
        self.user_model, self.inner = model, inner

    def sweep(self, steps: int = 1) -> torch.Tensor:
        self.inner.sweep(steps)
        return self.state

    @property
    def state(self) -> torch.Tensor:
        return self.user_model.from_basis(self.inner.state)

    def free_energy_trace(self) -> torch.Tensor:
        return self.inner.free_energy_trace()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def make_sampler(
    model: RBM,
    v0: torch.Tensor,
    *,
    sampler: Literal["gibbs", "metropolis", "pt"],
    generator: torch.Generator,
    beta: float = 1.0,
    n_replicas: int | None = None,
    betas: list[float] | None = None,
    base=None,
    trace_rows: int = DEFAULT_TRACE_ROWS,
    step_size: float | torch.Tensor | None = None,
) -> Sampler:
    """One of the three samplers, started at ``v0 : (n_chains, V)`` (every replica of a PT chain
    starts there). ``pt`` uses ``betas`` or ``default_betas(n_replicas, beta)``; ``metropolis``
    ``step_size`` (gaussian proposals; see :func:`metropolis`).

    A model whose tensors are in other units than its inputs (a whitened gaussian,
    :meth:`~app.rbm.model.RBM.in_basis`) gets the sampler of :meth:`in_basis` behind
    :class:`InBasis`: ``v0`` and ``state`` stay in the user's units, ``base`` is in the basis's.
    """
    inner = model.in_basis()
    if inner is not model:
        return InBasis(model, make_sampler(inner, model.to_basis(v0), sampler=sampler, generator=generator,
                                           beta=beta, n_replicas=n_replicas, betas=betas, base=base,
                                           trace_rows=trace_rows, step_size=step_size))
    n = v0.shape[0]
    if sampler == "gibbs":
        ch = GibbsChains(model, n, generator=generator, beta=beta, trace_rows=trace_rows)
        ch.v.copy_(v0)
        return ch
    if sampler == "metropolis":
        return _Metropolis(model, v0, generator, beta, step_size, trace_rows=trace_rows)
    if sampler == "pt":
        from app.rbm.tempering import DEFAULT_REPLICAS, TemperedChains, default_betas

        ladder = betas if betas is not None else default_betas(n_replicas or DEFAULT_REPLICAS, beta)
        pt = TemperedChains(model, n, ladder, generator=generator, base=base, trace_rows=trace_rows)
        pt.set_state(v0)
        return pt
    raise InvalidInput(f"unknown sampler {sampler!r}: use 'gibbs', 'metropolis' or 'pt'")


def draw_samples(
    model: RBM,
    *,
    n_samples: int,
    steps: int,
    thin: int = 1,
    init: Literal["random"] | torch.Tensor = "random",
    sampler: Literal["gibbs", "metropolis", "pt"] = "gibbs",
    generator: torch.Generator,
    beta: float = 1.0,
    return_hidden: bool = False,
    n_chains: int | None = None,
    n_replicas: int | None = None,
    betas: list[float] | None = None,
    base=None,
    trace_rows: int = DEFAULT_TRACE_ROWS,
    adapt_ladder: bool = False,
) -> SampleResult:
    """Draw ``n_samples`` visible vectors from the model.

    Runs ``n_chains`` chains (default: one per sample) for ``steps`` burn-in
    sweeps, then records all chains, then every ``thin`` sweeps records them
    again until ``n_samples`` rows are collected (row order: round by round,
    chain by chain). ``init="random"`` starts from uniform {0,1} (bernoulli)
    or ``N(a, s^2)`` (gaussian); a tensor ``(m, V)`` is cycled over the chains.
    ``sampler="pt"``: parallel tempering (:mod:`app.rbm.tempering`) with
    ``n_replicas`` evenly spaced betas from ``beta`` to 0 or the explicit
    ``betas``, towards ``base`` (a :class:`~app.rbm.tempering.TemperingBase`);
    samples come from the target replica; ``adapt_ladder`` respaces the betas
    twice during the first quarter of the burn-in so that neighbouring pairs swap
    about equally often (:meth:`~app.rbm.tempering.TemperedChains.adapt_ladder`).
    The free energy of the first ``trace_rows`` chains is traced at every sweep
    for the diagnostics. ``base`` is in the units of :meth:`~app.rbm.model.RBM.in_basis` (see
    :func:`make_sampler`), as :func:`~app.rbm.tempering.base_from_data` gives it.
    """
    if n_samples < 1:
        raise InvalidInput(f"n_samples must be at least 1, got {n_samples}")
    if steps < 0 or thin < 1:
        raise InvalidInput(f"need steps >= 0 and thin >= 1, got steps={steps}, thin={thin}")
    if sampler not in ("gibbs", "metropolis", "pt"):
        raise InvalidInput(f"unknown sampler {sampler!r}: use 'gibbs', 'metropolis' or 'pt'")
    check_generator(model, generator)
    n_chains = n_samples if n_chains is None else int(n_chains)
    if n_chains < 1:
        raise InvalidInput(f"n_chains must be at least 1, got {n_chains}")
    with torch.no_grad():
        v0 = start_states(model, init, n_chains, generator)
        chains = make_sampler(model, v0, sampler=sampler, generator=generator, beta=beta, n_replicas=n_replicas,
                              betas=betas, base=base, trace_rows=trace_rows)
        out = torch.empty((n_samples, model.n_visible), device=model.device, dtype=model.dtype)
        rounds = -(-n_samples // n_chains)
        burn = int(steps)
        if sampler == "pt" and adapt_ladder and burn >= 8 and len(chains.betas) > 2:
            block = burn // 8
            for _ in range(2):
                chains.adapt_ladder(block)
            burn -= 2 * block
        chains.sweep(burn)
        for r in range(rounds):
            if r:
                chains.sweep(int(thin))
            lo = r * n_chains
            hi = min(n_samples, lo + n_chains)
            out[lo:hi] = chains.state[: hi - lo]
        sweeps = int(steps) + (rounds - 1) * int(thin)
        # the trace holds F at the start of each sweep; add the final state's
        final = model.free_energy(chains.state[:trace_rows]).double().cpu() if trace_rows else None
        trace = chains.free_energy_trace()
        if final is not None:
            trace = torch.cat([trace, final[None, :]]) if trace.shape[0] else final[None, :]
        diagnostics = diagnose(trace.numpy(), steps=sweeps)
        hidden = model.sample_hidden(out, generator, beta) if return_hidden else None
        return SampleResult(
            samples=out, hidden=hidden,
            acceptance_rate=chains.acceptance_rate if sampler == "metropolis" else None,
            swap_acceptance=chains.swap_acceptance if sampler == "pt" else None,
            betas=list(chains.betas) if sampler == "pt" else None,
            diagnostics=diagnostics, sweeps=sweeps, n_chains=n_chains,
        )
