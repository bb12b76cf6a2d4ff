"""Binary-visible RBM over spins s in {-1, +1}^N (Carleo & Troyer 2017), real parameters.

log psi(s) = sum_i a_i s_i + sum_j log cosh(theta_j),  theta = b + W s.

The amplitude is real and positive, so it represents ground states whose signs are
known in advance (stoquastic Hamiltonians: the TFIM as is, the Heisenberg
antiferromagnet after the Marshall sign rule, applied in the local energy). What
the local energy and the sampler need are ratios psi(s') / psi(s) for single and
pair flips; they come from theta shifted by -2 W_i s_i, with no full recomputation.
"""

from __future__ import annotations

import math

import torch
from torch.nn.functional import softplus

_LOG2 = math.log(2.0)


def logcosh(x: torch.Tensor) -> torch.Tensor:
    """Stable log cosh: |x| + log1p(exp(-2|x|)) - log 2."""
    ax = x.abs()
    return ax + torch.log1p(torch.exp(-2 * ax)) - _LOG2


class SpinRBM:
    """Parameters in one flat vector: a (N,), b (H,), W (H, N)."""

    def __init__(self, n_visible: int, n_hidden: int, params: torch.Tensor | None = None) -> None:
        self.N, self.H = n_visible, n_hidden
        self.n_params = self.N + self.H + self.N * self.H
        self.params = params if params is not None else torch.zeros(self.n_params, dtype=torch.float64)
        self.bind(self.params)

    def bind(self, params: torch.Tensor) -> None:
        N, H = self.N, self.H
        self.params = params
        self.a = params[:N]
        self.b = params[N:N + H]
        self.W = params[N + H:].view(H, N)

    def theta(self, s: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, H)"""
        return torch.addmm(self.b, s, self.W.T)

    def log_psi(self, s: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B,)"""
        return s @ self.a + logcosh(self.theta(s)).sum(1)

    def param_grad(self, s: torch.Tensor) -> torch.Tensor:
        """O_k = d log psi / d theta_k: (B, n_params) in the order a, b, W."""
        t = torch.tanh(self.theta(s))
        ow = (t[:, :, None] * s[:, None, :]).reshape(s.shape[0], -1)
        return torch.cat([s, t, ow], dim=1)

    def log_ratio_single_flips(self, s: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """log psi(s with spin i flipped) - log psi(s) for every i: (B, N) -> (B, N).

        With log cosh t = softplus(2t) - t - log 2 the linear parts sum in closed form
        (theta' - theta = -2 s_i W_i), so the (B, N, H) tensor sees one softplus only.
        """
        theta2 = 2 * (self.theta(s) if theta is None else theta)
        shifted = theta2[:, None, :] - 4 * s[:, :, None] * self.W.T[None]  # 2 theta' for each flip: (B, N, H)
        sp = softplus(shifted).sum(2) - softplus(theta2).sum(1, keepdim=True)
        return sp + 2 * s * (self.W.sum(0) - self.a)

    def log_ratio_pair_flips(self, s: torch.Tensor, pairs_i: torch.Tensor, pairs_j: torch.Tensor,
                             theta: torch.Tensor | None = None) -> torch.Tensor:
        """log psi(s with spins i and j flipped) - log psi(s) for each pair: (B, N) -> (B, n_pairs)."""
        theta = self.theta(s) if theta is None else theta
        si, sj = s[:, pairs_i], s[:, pairs_j]  # (B, P)
        wt = self.W.T
        shift = si[:, :, None] * wt[pairs_i][None] + sj[:, :, None] * wt[pairs_j][None]  # (B, P, H)
        d = logcosh(theta[:, None, :] - 2 * shift) - logcosh(theta)[:, None, :]
        return -2 * (self.a[pairs_i] * si + self.a[pairs_j] * sj) + d.sum(2)


def build_spin_rbm(n_spins: int, n_hidden: int, init_scale: float = 0.01,
                   generator: torch.Generator | None = None) -> SpinRBM:
    """Weights start at N(0, init_scale^2) (NetKet's RBM default)."""
    rbm = SpinRBM(n_spins, n_hidden)
    rbm.params.copy_(init_scale * torch.randn(rbm.n_params, generator=generator, dtype=torch.float64))
    return rbm
