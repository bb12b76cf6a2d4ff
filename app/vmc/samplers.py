"""Markov chains over |psi|^2, vectorised over many independent chains.

Why several chains in one tensor: every proposal is then a few batched tensor ops,
so the per-op overhead of torch is paid once per step for all chains. Each sampler
keeps its chain positions in ``state`` and takes its randomness from one
``torch.Generator``, so (state, generator state) is all a checkpoint needs; cached
quantities (log psi, theta) are recomputed at the start of every ``sample`` call
because the parameters change between calls.

* ``ContinuousSampler(move="metropolis")``: brute-force Metropolis, x' = x + step * U(-1/2, 1/2)
  on all coordinates of a walker at once.
* ``ContinuousSampler(move="langevin")``: importance sampling with the Fokker-Planck drift,
  x' = x + D dt F(x) + sqrt(2 D dt) eta, D = 1/2, F = 2 grad log psi, accepted with the
  Metropolis-Hastings ratio of the Green's functions (so the chain is exact for any dt).
* ``SpinSampler(move="flip")``: single-spin-flip Metropolis, sites visited in order
  (one sweep = N proposals per chain).
* ``SpinSampler(move="exchange")``: swap two spins of opposite sign chosen uniformly
  per chain; conserves the magnetisation of the start (0 for even N), which is where
  the Heisenberg ground state lives. One sweep = N proposals per chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn.functional import softplus


@dataclass
class Draw:
    """samples: (n_chains, n_per_chain, dim), chain-major; acceptance: accepted / proposed."""

    samples: torch.Tensor
    acceptance: float


class ContinuousSampler:
    def __init__(self, n_chains: int, dim: int, *, move: str = "langevin",
                 step: float = 0.5, generator: torch.Generator, scale: float = 1.0) -> None:
        if move not in ("metropolis", "langevin"):
            raise ValueError(f"continuous sampler must be 'metropolis' or 'langevin', got {move!r}")
        self.move, self.step_size, self.g = move, float(step), generator
        self.state = scale * torch.randn(n_chains, dim, generator=generator, dtype=torch.float64)

    def _prepare(self, wf) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.move == "langevin":
            lp, grad, _ = wf.derivatives(self.state)
            return lp, grad
        return wf.log_psi(self.state), None

    def _step(self, wf, lp: torch.Tensor, grad: torch.Tensor | None):
        x, dt = self.state, self.step_size
        B = x.shape[0]
        if self.move == "metropolis":
            prop = x + dt * (torch.rand(x.shape, generator=self.g, dtype=x.dtype) - 0.5)
            lp_new = wf.log_psi(prop)
            log_a = 2 * (lp_new - lp)
            grad_new = None
        else:
            assert grad is not None  # langevin keeps the drift of the current state
            noise = torch.randn(x.shape, generator=self.g, dtype=x.dtype)
            prop = x + dt * grad + dt**0.5 * noise
            lp_new, grad_new, _ = wf.derivatives(prop)
            fwd = (noise**2).sum(1) / 2  # -log G(x -> x'), up to a constant
            back = ((x - prop - dt * grad_new) ** 2).sum(1) / (2 * dt)  # -log G(x' -> x)
            log_a = 2 * (lp_new - lp) + fwd - back
        u = torch.rand(B, generator=self.g, dtype=x.dtype)
        acc = torch.log(u) < log_a
        self.state = torch.where(acc[:, None], prop, x)
        lp = torch.where(acc, lp_new, lp)
        if grad is not None and grad_new is not None:
            grad = torch.where(acc[:, None], grad_new, grad)
        return lp, grad, int(acc.sum())

    def sample(self, wf, n_per_chain: int, *, thin: int = 1, discard: int = 0) -> Draw:
        """Run ``discard`` steps, then keep the state after every ``thin`` steps."""
        lp, grad = self._prepare(wf)
        accepted = proposed = 0
        out = torch.empty(n_per_chain, *self.state.shape, dtype=self.state.dtype)
        for _ in range(discard):
            lp, grad, a = self._step(wf, lp, grad)
            accepted, proposed = accepted + a, proposed + self.state.shape[0]
        for t in range(n_per_chain):
            for _ in range(thin):
                lp, grad, a = self._step(wf, lp, grad)
                accepted, proposed = accepted + a, proposed + self.state.shape[0]
            out[t] = self.state
        return Draw(out.transpose(0, 1), accepted / max(proposed, 1))


class SpinSampler:
    def __init__(self, n_chains: int, n_spins: int, *, move: str = "flip",
                 generator: torch.Generator) -> None:
        if move not in ("flip", "exchange"):
            raise ValueError(f"spin sampler must be 'flip' or 'exchange', got {move!r}")
        self.move, self.g, self.N = move, generator, n_spins
        if move == "exchange":  # random configurations with n_spins // 2 up spins
            keys = torch.rand(n_chains, n_spins, generator=generator, dtype=torch.float64)
            ranks = keys.argsort(1).argsort(1)
            self.state = torch.where(ranks < n_spins // 2, 1.0, -1.0).to(torch.float64)
        else:
            self.state = torch.randint(0, 2, (n_chains, n_spins), generator=generator).to(torch.float64) * 2 - 1

    def _sweep_flip(self, wf, theta2: torch.Tensor, sp: torch.Tensor):
        """N single-flip proposals per chain; theta2 = 2 theta, sp = sum_j softplus(theta2_j).

        log cosh t = softplus(2t) - t - log 2, so for a flip of s_i:
        dlog psi = -2 a_i s_i + [sum softplus(2t') - sum softplus(2t)] + 2 s_i sum_j W_ji.
        """
        s = self.state
        wt = wf.W.T.contiguous()  # (N, H)
        lin = 2 * (wt.sum(1) - wf.a)  # (N,): the linear part of the log-ratio, per unit s_i
        half_logu = torch.rand(self.N, s.shape[0], generator=self.g, dtype=s.dtype).log_().mul_(0.5)
        accepted = torch.zeros((), dtype=torch.int64)
        for i in range(self.N):
            si = s[:, i]
            t_new = torch.addcmul(theta2, si[:, None], wt[i], value=-4.0)
            sp_new = softplus(t_new).sum(1)
            d = torch.addcmul(sp_new - sp, si, lin[i])  # log psi(s') - log psi(s)
            acc = half_logu[i] < d  # u < |psi'/psi|^2
            s[:, i] = torch.where(acc, -si, si)
            theta2 = torch.where(acc[:, None], t_new, theta2)
            sp = torch.where(acc, sp_new, sp)
            accepted += acc.sum()
        return theta2, sp, int(accepted), self.N * s.shape[0]

    def _sweep_exchange(self, wf, theta2: torch.Tensor, sp: torch.Tensor):
        s = self.state
        B = s.shape[0]
        wt = wf.W.T.contiguous()
        wsum = wt.sum(1)
        rows = torch.arange(B)
        accepted = proposed = 0
        for _ in range(self.N):
            # one up and one down spin per chain, uniformly: argmax of random keys on each set
            keys = torch.rand(B, self.N, generator=self.g, dtype=s.dtype)
            i = torch.where(s > 0, keys, -1.0).argmax(1)
            j = torch.where(s < 0, keys, -1.0).argmax(1)
            si, sj = s[rows, i], s[rows, j]
            valid = si != sj  # false only in a fully polarised chain
            t_new = theta2 - 4 * (si[:, None] * wt[i] + sj[:, None] * wt[j])
            sp_new = softplus(t_new).sum(1)
            d = (sp_new - sp) + 2 * si * (wsum[i] - wf.a[i]) + 2 * sj * (wsum[j] - wf.a[j])
            u = torch.rand(B, generator=self.g, dtype=s.dtype)
            acc = (torch.log(u) < 2 * d) & valid
            s[rows, i] = torch.where(acc, -si, si)
            s[rows, j] = torch.where(acc, -sj, sj)
            theta2 = torch.where(acc[:, None], t_new, theta2)
            sp = torch.where(acc, sp_new, sp)
            accepted += int(acc.sum())
            proposed += int(valid.sum())
        return theta2, sp, accepted, proposed

    def sample(self, wf, n_per_chain: int, *, thin: int = 1, discard: int = 0) -> Draw:
        """``discard`` sweeps, then keep the state after every ``thin`` sweeps."""
        theta2 = 2 * wf.theta(self.state)
        sp = softplus(theta2).sum(1)
        sweep = self._sweep_flip if self.move == "flip" else self._sweep_exchange
        accepted = proposed = 0
        out = torch.empty(n_per_chain, *self.state.shape, dtype=self.state.dtype)
        for _ in range(discard):
            theta2, sp, a, p = sweep(wf, theta2, sp)
            accepted, proposed = accepted + a, proposed + p
        for t in range(n_per_chain):
            for _ in range(thin):
                theta2, sp, a, p = sweep(wf, theta2, sp)
                accepted, proposed = accepted + a, proposed + p
            out[t] = self.state
        return Draw(out.transpose(0, 1), accepted / max(proposed, 1))
