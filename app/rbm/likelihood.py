"""Likelihood-type quantities: log p(v), pseudo-likelihood, exact distributions, KL.

State order for every ``(2^V,)`` vector (``log_prob_all_states``,
``empirical_distribution``, ``kl_divergence``) is binary counting with visible
unit 0 as the most significant bit: index ``k = sum_i v_i 2^(V-1-i)``, the
same order as :func:`all_binary_states`.
"""

from __future__ import annotations

import torch

from app.rbm._enumerate import ELEMENT_BUDGET, all_binary_states
from app.rbm.errors import InvalidInput, TooLarge
from app.rbm.model import RBM, BernoulliRBM, softplus

__all__ = [
    "all_binary_states",
    "empirical_distribution",
    "kl_divergence",
    "log_likelihood",
    "log_prob_all_states",
    "pseudo_log_likelihood",
    "state_indices",
]

#: Largest visible layer for which full distributions over {0,1}^V are built.
MAX_STATE_BITS = 20


def log_likelihood(model: RBM, v: torch.Tensor, log_z: float) -> torch.Tensor:
    """``log p(v) = -F(v) - log Z``: ``(n, V)`` -> ``(n,)`` (a log-density for gaussian models)."""
    model.validate_input(v)
    with torch.no_grad():
        v = v.to(device=model.device, dtype=model.dtype)
        return free_energy_chunked(model, v).neg_().sub_(log_z)


def free_energy_chunked(model: RBM, v: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """``F(v)`` computed in row chunks so ``(rows, H)`` temporaries stay small: ``(n, V)`` -> ``(n,)``."""
    rows = max(1, ELEMENT_BUDGET // max(1, model.n_hidden))
    if v.shape[0] <= rows:
        return model.free_energy(v, beta)
    return torch.cat([model.free_energy(v[i : i + rows], beta) for i in range(0, v.shape[0], rows)])


def pseudo_log_likelihood(model: RBM, v: torch.Tensor) -> torch.Tensor:
    """Exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)``: ``(n, V)`` -> ``(n,)``.

    Bernoulli only. Flipping site ``i`` changes the hidden pre-activation by
    ``(1 - 2 v_i) W_i``, so all V flips come from one ``(rows, V, H)`` block
    per chunk of rows (no V separate free-energy passes), with
    ``log p(v_i | v_-i) = log sigmoid(F(v with i flipped) - F(v))``.

    For gaussian models the conditional ``p(v_i | v_-i)`` is a mixture with no
    closed form, so :class:`InvalidInput` is raised.
    """
    if not isinstance(model, BernoulliRBM):
        raise InvalidInput("pseudo-log-likelihood is only defined here for bernoulli (binary) models")
    model.validate_input(v)
    with torch.no_grad():
        v = v.to(device=model.device, dtype=model.dtype)
        W, a = model.weight, model.visible_bias
        n_v, n_h = W.shape
        # (rows, V, H) blocks of at most 1/16 of the usual budget (or one row): two such temporaries
        # live at once, and this runs inside every training epoch's metrics
        rows = max(1, (ELEMENT_BUDGET // 16) // (n_v * n_h))
        out = torch.empty(v.shape[0], device=v.device, dtype=v.dtype)
        for lo in range(0, v.shape[0], rows):
            vc = v[lo : lo + rows]
            pre = model.hidden_preactivation(vc)  # (r, H)
            base = softplus(pre).sum(dim=1)  # (r,)
            d = 1.0 - 2.0 * vc  # (r, V)
            flipped = torch.addcmul(pre[:, None, :], d[:, :, None], W[None, :, :])  # (r, V, H)
            d_free = -(d * a) - (softplus(flipped).sum(dim=2) - base[:, None])  # F(v^i) - F(v)
            out[lo : lo + rows] = -softplus(-d_free).sum(dim=1)
        return out


def state_indices(v: torch.Tensor) -> torch.Tensor:
    """Counting-order index of each binary row: ``(n, V)`` -> ``(n,)`` int64."""
    weights = 2 ** torch.arange(v.shape[1] - 1, -1, -1, device=v.device, dtype=torch.int64)
    return v.to(torch.int64) @ weights


def log_prob_all_states(model: RBM, log_z: float | None = None, *, max_bits: int = MAX_STATE_BITS) -> torch.Tensor:
    """``log p(v)`` for every ``v in {0,1}^V`` in counting order: ``-> (2^V,)`` float64.

    Bernoulli models with ``V <= max_bits`` only; ``log_z`` defaults to
    :func:`exact_log_partition`.
    """
    if not isinstance(model, BernoulliRBM):
        raise InvalidInput("log_prob_all_states needs a bernoulli model (gaussian visibles are continuous)")
    if model.n_visible > max_bits:
        raise TooLarge(
            f"enumerating 2^{model.n_visible} visible states exceeds the limit of 2^{max_bits}"
        )
    from app.rbm.partition import exact_log_partition

    with torch.no_grad():
        if log_z is None:
            log_z = exact_log_partition(model)
        states = all_binary_states(model.n_visible, device=model.device, dtype=model.dtype)
        return free_energy_chunked(model, states).to(torch.float64).neg_().sub_(log_z)


def empirical_distribution(data: torch.Tensor, *, max_bits: int = MAX_STATE_BITS) -> torch.Tensor:
    """Fraction of rows equal to each binary state: ``(n, V)`` -> ``(2^V,)`` float64, counting order."""
    if data.dim() != 2 or data.shape[0] < 1:
        raise InvalidInput(f"expected a non-empty (n, V) batch of binary vectors, got shape {tuple(data.shape)}")
    if data.shape[1] > max_bits:
        raise TooLarge(f"a distribution over 2^{data.shape[1]} states exceeds the limit of 2^{max_bits}")
    if not bool(((data == 0) | (data == 1)).all()):
        raise InvalidInput("empirical_distribution needs binary data: every value must be 0 or 1")
    counts = torch.bincount(state_indices(data), minlength=1 << data.shape[1])
    return counts.to(torch.float64) / data.shape[0]


def kl_divergence(target_probs: torch.Tensor, model: RBM, log_z: float | None = None) -> float:
    """``KL(target || model)`` in nats over ``{0,1}^V`` (terms with target 0 contribute 0).

    ``target_probs : (2^V,)`` in counting order (see module docstring), non-negative,
    summing to 1. Infinite when the target puts mass where the model has none.
    """
    n_states = 1 << model.n_visible
    p = torch.as_tensor(target_probs).to(device=model.device, dtype=torch.float64)
    if p.shape != (n_states,):
        raise InvalidInput(f"target_probs must have shape ({n_states},) for {model.n_visible} visible units, "
                           f"got {tuple(p.shape)}")
    if bool((p < 0).any()) or not bool(torch.isfinite(p).all()) or abs(float(p.sum()) - 1.0) > 1e-6:
        raise InvalidInput("target_probs must be finite, non-negative and sum to 1")
    log_q = log_prob_all_states(model, log_z)
    mask = p > 0
    pm = p[mask]
    return float((pm * (torch.log(pm) - log_q[mask])).sum())
