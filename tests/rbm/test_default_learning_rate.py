"""The learning rate a config leaves unset: 0.1, less for gaussian models with many hidden units."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.data.builtin import load_builtin
from app.rbm.errors import TrainingDiverged
from app.rbm.model import BernoulliRBM, GaussianRBM
from app.rbm.training import Trainer, TrainingConfig, default_learning_rate


def _digits() -> torch.Tensor:
    d = load_builtin("digits", {"binarize": "none", "dequantize": True})
    return torch.from_numpy(np.asarray(d.train, dtype=np.float32))


def _gaussian(x: torch.Tensor, hidden: int) -> GaussianRBM:
    return GaussianRBM.init_random(64, hidden, generator=torch.Generator().manual_seed(0), data=x, standardize="whiten")


def test_the_rule():
    g = torch.Generator().manual_seed(0)
    x = _digits()
    assert default_learning_rate(BernoulliRBM.init_random(64, 500, generator=g)) == 0.1
    assert default_learning_rate(_gaussian(x, 16)) == 0.1 and default_learning_rate(_gaussian(x, 50)) == 0.1
    assert default_learning_rate(_gaussian(x, 500)) == pytest.approx(0.01)


def test_unset_rate_trains_a_wide_gaussian_model_where_the_old_default_diverged():
    x = _digits()
    with pytest.raises(TrainingDiverged):
        Trainer(_gaussian(x, 500), x, TrainingConfig(epochs=5, learning_rate=0.1, seed=0)).fit()
    t = Trainer(_gaussian(x, 500), x, TrainingConfig(epochs=5, seed=0))
    model = t.fit()
    assert t.config.learning_rate == pytest.approx(0.01)
    assert all(torch.isfinite(p).all() for p in model.parameters().values())
    given = Trainer(_gaussian(x, 500), x, TrainingConfig(epochs=1, learning_rate=0.003, seed=0))
    assert given.config.learning_rate == 0.003  # a given rate is kept
