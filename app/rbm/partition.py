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

import torch

from app.rbm._enumerate import logsumexp_over_states
from app.rbm.errors import InvalidInput, TooLarge
from app.rbm.model import RBM, GaussianRBM, softplus


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
