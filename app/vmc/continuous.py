"""Trial wave functions for particles in a trap: Gaussian-binary RBM times an optional Pade-Jastrow.

Why closed forms: the local energy needs grad and Laplacian of log psi with respect
to the coordinates; finite differences would add an O(h^2) bias and cost 2*P*D extra
evaluations. Each class below returns them analytically, for a batch of walkers.

Parameters live in one flat float64 vector per wave function (``params``) so that
optimisers, SR and checkpoints handle every ansatz the same way; the named tensors
(``a``, ``b``, ``W``, ``beta``) are views into it.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch.nn.functional import softplus


class GaussianBinaryRBM:
    """psi(x) = F(x)^c, c = 1 ("plain") or 1/2 ("sqrt"), with

    F(x) = exp(-sum_k (x_k - a_k)^2 / (2 sigma^2)) prod_j (1 + exp(b_j + sum_k x_k W_kj / sigma^2)).

    x: (B, M) coordinates, M = P*D, particle-major (x[:, p*D + d]).
    """

    def __init__(self, n_visible: int, n_hidden: int, sigma2: float,
                 form: Literal["plain", "sqrt"] = "plain", params: torch.Tensor | None = None) -> None:
        if form not in ("plain", "sqrt"):
            raise ValueError(f"form must be 'plain' or 'sqrt', got {form!r}")
        self.M, self.H, self.sigma2, self.form = n_visible, n_hidden, float(sigma2), form
        self.c = 1.0 if form == "plain" else 0.5
        self.n_params = self.M + self.H + self.M * self.H
        self.params = params if params is not None else torch.zeros(self.n_params, dtype=torch.float64)
        self.bind(self.params)

    def bind(self, params: torch.Tensor) -> None:
        """Make a, b, W views into ``params`` (shape (n_params,))."""
        M, H = self.M, self.H
        self.params = params
        self.a = params[:M]
        self.b = params[M:M + H]
        self.W = params[M + H:].view(M, H)

    def _u(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.b, x, self.W, alpha=1.0 / self.sigma2)  # (B, H)

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        """(B, M) -> (B,)"""
        gauss = ((x - self.a) ** 2).sum(1) / (2 * self.sigma2)
        return self.c * (softplus(self._u(x)).sum(1) - gauss)

    def derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log psi (B,), grad_x log psi (B, M), Laplacian_x log psi (B,)."""
        u = self._u(x)
        s = torch.sigmoid(u)
        gauss = ((x - self.a) ** 2).sum(1) / (2 * self.sigma2)
        logp = self.c * (softplus(u).sum(1) - gauss)
        grad = self.c * ((s @ self.W.T) - (x - self.a)) / self.sigma2
        w2 = (self.W**2).sum(0)  # (H,): sum_k W_kj^2
        lap = self.c * ((s * (1 - s)) @ w2 / self.sigma2**2 - self.M / self.sigma2)
        return logp, grad, lap

    def param_grad(self, x: torch.Tensor) -> torch.Tensor:
        """O_k = d log psi / d theta_k: (B, n_params) in the order a, b, W."""
        s = torch.sigmoid(self._u(x))
        oa = (x - self.a) / self.sigma2
        ow = (x[:, :, None] * s[:, None, :]).reshape(x.shape[0], -1) / self.sigma2
        return self.c * torch.cat([oa, s, ow], dim=1)


class PadeJastrow:
    """J(x) = exp(sum_{i<j} a r_ij / (1 + beta r_ij)); a fixed by the cusp, beta variational.

    Kato's cusp for two opposite-spin electrons in D dimensions (relative motion, reduced
    mass 1/2, l = 0): d ln psi / dr at r = 0 equals 1/(D - 1): a = 1 in 2D, 1/2 in 3D.
    """

    def __init__(self, n_particles: int, dim: int, params: torch.Tensor | None = None,
                 cusp: float | None = None) -> None:
        if dim < 2:
            raise ValueError("the Pade-Jastrow cusp needs dim >= 2")
        self.P, self.D = n_particles, dim
        self.cusp = cusp if cusp is not None else 1.0 / (dim - 1)
        self.n_params = 1
        self.params = params if params is not None else torch.full((1,), 0.5, dtype=torch.float64)
        self.bind(self.params)
        iu = torch.triu_indices(n_particles, n_particles, offset=1)
        self.i, self.j = iu[0], iu[1]

    def bind(self, params: torch.Tensor) -> None:
        self.params = params
        self.beta = params[0:1]

    def _pairs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = x.view(x.shape[0], self.P, self.D)
        d = pos[:, self.i] - pos[:, self.j]  # (B, n_pairs, D)
        return d, d.norm(dim=2)

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        _, r = self._pairs(x)
        return (self.cusp * r / (1 + self.beta * r)).sum(1)

    def derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d, r = self._pairs(x)
        q = 1 + self.beta * r
        f = self.cusp * r / q
        f1 = self.cusp / q**2  # f'(r)
        f2 = -2 * self.cusp * self.beta / q**3  # f''(r)
        g = (f1 / r)[:, :, None] * d  # grad wrt particle i of pair (i, j); minus for j
        grad = torch.zeros(x.shape[0], self.P, self.D, dtype=x.dtype, device=x.device)
        grad.index_add_(1, self.i, g)
        grad.index_add_(1, self.j, -g)
        lap = 2 * (f2 + (self.D - 1) * f1 / r).sum(1)
        return f.sum(1), grad.view(x.shape[0], -1), lap

    def param_grad(self, x: torch.Tensor) -> torch.Tensor:
        _, r = self._pairs(x)
        return (-self.cusp * r**2 / (1 + self.beta * r) ** 2).sum(1, keepdim=True)


class TrapWavefunction:
    """Product of factors (RBM [* Jastrow]); one flat parameter vector, log psi adds up."""

    def __init__(self, factors: list) -> None:
        self.factors = factors
        self.n_params = sum(f.n_params for f in factors)
        self.params = torch.cat([f.params for f in factors]).clone()
        self.bind(self.params)

    def bind(self, params: torch.Tensor) -> None:
        self.params = params
        offset = 0
        for f in self.factors:
            f.bind(params[offset:offset + f.n_params])
            offset += f.n_params

    def log_psi(self, x: torch.Tensor) -> torch.Tensor:
        return sum(f.log_psi(x) for f in self.factors)

    def derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        parts = [f.derivatives(x) for f in self.factors]
        return tuple(sum(p[k] for p in parts) for k in range(3))  # type: ignore[return-value]

    def param_grad(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([f.param_grad(x) for f in self.factors], dim=1)

    def grad_log_psi(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log psi (B, M): the Langevin drift is twice this."""
        return self.derivatives(x)[1]


def build_trap_wavefunction(n_particles: int, dim: int, omega: float, n_hidden: int,
                            form: str = "plain", jastrow: bool = False, sigma2: float | None = None,
                            init_scale: float = 0.001, generator: torch.Generator | None = None) -> TrapWavefunction:
    """RBM (and Jastrow) with sigma^2 chosen so that a = b = W = 0 is the exact non-interacting state.

    plain: psi ~ exp(-x^2 / (2 sigma^2)) needs sigma^2 = 1/omega; sqrt: sigma^2 = 1/(2 omega).
    Weights start at N(0, init_scale^2), as in the course notes.
    """
    M = n_particles * dim
    c = 1.0 if form == "plain" else 0.5
    s2 = sigma2 if sigma2 is not None else c / omega
    rbm = GaussianBinaryRBM(M, n_hidden, s2, form)  # type: ignore[arg-type]
    rbm.params.copy_(init_scale * torch.randn(rbm.n_params, generator=generator, dtype=torch.float64))
    factors: list = [rbm]
    if jastrow:
        factors.append(PadeJastrow(n_particles, dim))
    return TrapWavefunction(factors)
