"""Pure-PyTorch Restricted Boltzmann Machine library (no web or database code).

Modules: ``model`` (parameters, conditionals, free energy), ``sampling`` (Gibbs,
Metropolis), ``training`` (CD-k / PCD), ``partition`` (exact and AIS log Z),
``likelihood`` (log p, pseudo-likelihood, KL), ``io`` (safetensors), ``device``.
"""

from app.rbm.errors import InvalidInput, InvalidWeights, RBMError, TooLarge, TrainingDiverged
from app.rbm.model import RBM, BernoulliRBM, GaussianRBM, model_from_tensors

__all__ = [
    "RBM",
    "BernoulliRBM",
    "GaussianRBM",
    "model_from_tensors",
    "RBMError",
    "InvalidInput",
    "InvalidWeights",
    "TrainingDiverged",
    "TooLarge",
]
