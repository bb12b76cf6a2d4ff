"""Persistent chains stored beside the weights (the optional ``persistent_chains`` tensor)."""

import pytest
import torch

from app.rbm.io import CHAINS_TENSOR, from_safetensors_bytes, read_chains, read_tempering_base, to_safetensors_bytes
from app.rbm.training import default_method, default_schedule
from tests.rbm.models import random_bb


def test_chains_round_trip_and_do_not_disturb_the_model():
    m = random_bb(5, 3, 1.0, 0)
    chains = torch.bernoulli(torch.full((7, 5), 0.5, dtype=torch.float64))
    data = to_safetensors_bytes(m, chains=chains)
    back, meta = from_safetensors_bytes(data)
    assert meta["visible_type"] == "bernoulli"
    for name, t in m.parameters().items():
        assert torch.equal(back.parameters()[name], t)
    assert torch.equal(read_chains(data), chains)
    assert read_chains(to_safetensors_bytes(m)) is None
    assert read_chains(b"not a file") is None
    with pytest.raises(ValueError, match="chains must have shape"):
        to_safetensors_bytes(m, chains=torch.zeros(3, 4))
    assert CHAINS_TENSOR == "persistent_chains"


def test_tempering_base_round_trip():
    m = random_bb(5, 3, 1.0, 0)
    mean = torch.linspace(-1, 1, 5, dtype=torch.float64)
    data = to_safetensors_bytes(m, chains=torch.zeros(2, 5, dtype=torch.float64), base_mean=mean)
    got_mean, got_sigma = read_tempering_base(data)
    assert torch.equal(got_mean, mean) and got_sigma is None
    assert from_safetensors_bytes(data)[0].n_visible == 5
    assert read_tempering_base(to_safetensors_bytes(m)) is None


def test_default_schedule_gives_small_data_many_updates_and_keeps_given_values():
    assert default_schedule(30) == (5000, 10)  # bars-and-stripes: batch 10, 3 updates per epoch, 15,000 updates
    assert default_schedule(60000) == (30, 100)  # MNIST: 600 updates per epoch, 18,000 in 30 epochs
    assert default_schedule(20000) == (75, 100)
    assert default_schedule(30, epochs=7) == (7, 10)
    assert default_schedule(30, batch_size=30) == (15000, 30)
    # pcd (one sweep an update, the gaussian default): 60,000 updates
    assert default_schedule(20000, method="pcd") == (300, 100) and default_schedule(60000, method="pcd") == (100, 100)
    assert default_schedule(20000, method="cd") == (75, 100)
    assert (default_method(None, True), default_method(None, False), default_method("cd", True)) == ("pcd", "pt", "cd")
