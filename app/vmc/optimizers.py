"""Parameter updates from a batch of samples: SGD, Adam and stochastic reconfiguration.

All take the log-derivatives O (B, P) and local energies E (B,) of one iteration's
samples. The energy gradient of a real, positive (or fixed-sign) ansatz is
g_k = 2 <(E_L - <E_L>) (O_k - <O_k>)>. SR preconditions it with the quantum
geometric tensor S_kl = <(O_k - <O_k>)(O_l - <O_l>)> + shift * delta_kl and steps
theta -= lr * S^{-1} g (imaginary-time evolution with d tau = 2 lr; NetKet's convention
for real parameters, so learning rates compare).
"""

from __future__ import annotations

import torch


def _weights(E: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if weights is None:
        return torch.full_like(E, 1.0 / E.shape[0])
    return weights / weights.sum()


def energy_gradient(O: torch.Tensor, E: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """2 <(E - <E>)(O - <O>)>: (B, P), (B,) -> (P,); weights (B,) replace 1/B (exact enumeration)."""
    w = _weights(E, weights)
    Oc = O - w @ O
    Ec = E - w @ E
    return 2 * (w * Ec) @ Oc


def sr_direction(O: torch.Tensor, E: torch.Tensor, shift: float, weights: torch.Tensor | None = None,
                 gram_dtype: torch.dtype | None = None) -> torch.Tensor:
    """(S + shift I)^{-1} g, solved by Cholesky (S is positive semi-definite).

    gram_dtype: precision of the O^T O product only (float32 halves the dominant cost of a
    step; its ~1e-7 relative error is far below the statistical noise of S and the shift).
    """
    w = _weights(E, weights)
    Oc = O - w @ O
    g = 2 * (w * (E - w @ E)) @ Oc
    if gram_dtype is None or gram_dtype == Oc.dtype:
        S = (Oc * w[:, None]).T @ Oc
    else:
        Ow = Oc.to(gram_dtype)
        S = ((Ow * w[:, None].to(gram_dtype)).T @ Ow).to(Oc.dtype)
    S.diagonal().add_(shift)
    L, info = torch.linalg.cholesky_ex(S)
    if int(info) == 0:
        return torch.cholesky_solve(g[:, None], L)[:, 0]
    return torch.linalg.lstsq(S, g[:, None]).solution[:, 0]


class SGD:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def direction(self, O: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
        return energy_gradient(O, E)

    def step(self, params: torch.Tensor, O: torch.Tensor, E: torch.Tensor) -> None:
        params.sub_(self.lr * self.direction(O, E))

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class SR(SGD):
    def __init__(self, lr: float, shift: float = 0.01) -> None:
        super().__init__(lr)
        self.shift = shift

    def direction(self, O: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
        return sr_direction(O, E, self.shift, gram_dtype=torch.float32)


class Adam:
    """Adam (Kingma & Ba) on the energy gradient; moments kept for checkpoints."""

    def __init__(self, lr: float, n_params: int, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = torch.zeros(n_params, dtype=torch.float64)
        self.v = torch.zeros(n_params, dtype=torch.float64)
        self.t = 0

    def step(self, params: torch.Tensor, O: torch.Tensor, E: torch.Tensor) -> None:
        g = energy_gradient(O, E)
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        params.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))

    def state_dict(self) -> dict:
        return {"m": self.m.clone(), "v": self.v.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.m.copy_(state["m"])
        self.v.copy_(state["v"])
        self.t = int(state["t"])


def make_optimizer(name: str, lr: float, n_params: int, shift: float):
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr, n_params)
    if name == "sr":
        return SR(lr, shift)
    raise ValueError(f"optimizer must be 'sgd', 'adam' or 'sr', got {name!r}")
