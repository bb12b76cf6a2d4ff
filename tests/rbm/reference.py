"""Independent numpy brute-force references (no code from app.rbm).

Everything here enumerates the joint energy E(v, h) directly, so it checks the
library's closed forms (free energies, softplus tricks, chunked enumeration)
rather than re-running them.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp


def states(n: int) -> np.ndarray:
    """All of {0,1}^n, unit 0 most significant: (2^n, n)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)), dtype=np.float64).reshape(-1, n)


def bb_energy(v: np.ndarray, h: np.ndarray, W: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """E(v, h) for every pair: v (n, V), h (m, H) -> (n, m)."""
    return -(v @ a)[:, None] - (h @ b)[None, :] - v @ W @ h.T


def bb_free_energy(v, W, a, b, beta=1.0):
    """-log sum_h exp(-beta E(v, h)) by enumerating h: (n,)."""
    return -logsumexp(-beta * bb_energy(v, states(W.shape[1]), W, a, b), axis=1)


def bb_log_z(W, a, b):
    """log of the double sum over (v, h)."""
    return float(logsumexp(-bb_energy(states(W.shape[0]), states(W.shape[1]), W, a, b)))


def bb_log_prob(W, a, b):
    """log p(v) for all visible states (counting order): (2^V,)."""
    return -bb_free_energy(states(W.shape[0]), W, a, b) - bb_log_z(W, a, b)


def bb_hidden_probs(v, W, a, b):
    """p(h_j = 1 | v) by marginalising the enumerated joint: (n, H)."""
    hs = states(W.shape[1])
    logp = -bb_energy(v, hs, W, a, b)
    logp -= logsumexp(logp, axis=1, keepdims=True)
    return np.exp(logp) @ hs


def bb_pseudo_log_likelihood(v, W, a, b):
    """sum_i log p(v_i | v_-i), each conditional from two enumerated free energies: (n,)."""
    out = np.zeros(v.shape[0])
    f = bb_free_energy(v, W, a, b)
    for i in range(v.shape[1]):
        u = v.copy()
        u[:, i] = 1 - u[:, i]
        fu = bb_free_energy(u, W, a, b)
        out += -np.logaddexp(0.0, f - fu)  # log [e^-f / (e^-f + e^-fu)]
    return out


def gb_energy(v, h, W, a, b, log_sigma):
    """Gaussian-binary E(v, h): v (n, V), h (m, H) -> (n, m)."""
    s2 = np.exp(2 * log_sigma)
    quad = (((v - a) ** 2) / (2 * s2)).sum(axis=1)
    return quad[:, None] - (h @ b)[None, :] - (v / s2) @ W @ h.T


def gb_free_energy(v, W, a, b, log_sigma):
    return -logsumexp(-gb_energy(v, states(W.shape[1]), W, a, b, log_sigma), axis=1)


def gb_log_z(W, a, b, log_sigma):
    """Sum over h of the Gaussian integral over v, by completing the square per h."""
    s2 = np.exp(2 * log_sigma)
    terms = []
    for h in states(W.shape[1]):
        mu = a + W @ h  # exp(-E) = exp(b.h + |mu|^2/2s2 - |a|^2/2s2) * exp(-|v-mu|^2/2s2)
        log_int = 0.5 * np.log(2 * np.pi * s2).sum()
        terms.append(b @ h + ((mu**2 - a**2) / (2 * s2)).sum() + log_int)
    return float(logsumexp(terms))


def gb_mixture(W, a, b, log_sigma):
    """p(h) and the per-h Gaussian means of the visible marginal (a mixture)."""
    s2 = np.exp(2 * log_sigma)
    hs = states(W.shape[1])
    mus = a[None, :] + hs @ W.T
    logw = hs @ b + ((mus**2 - a[None, :] ** 2) / (2 * s2)).sum(axis=1)
    w = np.exp(logw - logsumexp(logw))
    return w, mus, s2


def gb_moments(W, a, b, log_sigma):
    """Exact mean and variance of each visible unit under p(v): ((V,), (V,))."""
    w, mus, s2 = gb_mixture(W, a, b, log_sigma)
    mean = w @ mus
    var = s2 + w @ (mus**2) - mean**2
    return mean, var


def finite_difference_grad(fn, params: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """Central finite differences of ``fn(list of arrays) -> float`` w.r.t. every entry of every
    array: the independent check of hand-written gradients."""
    grads = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            hi = [q.copy() for q in params]
            lo = [q.copy() for q in params]
            hi[i][idx] += eps
            lo[i][idx] -= eps
            g[idx] = (fn(hi) - fn(lo)) / (2 * eps)
        grads.append(g)
    return grads
