import json
import struct

import pytest
import torch
from safetensors.torch import save

from app.rbm.errors import InvalidWeights
from app.rbm.io import from_safetensors_bytes, to_safetensors_bytes
from app.rbm.model import BernoulliRBM, GaussianRBM
from tests.rbm.models import random_bb, random_gb


@pytest.mark.parametrize("make", [lambda: random_bb(5, 3, 1.0, 0, torch.float32), lambda: random_gb(4, 6, 1.0, 1)])
def test_round_trip(make):
    m = make()
    data = to_safetensors_bytes(m, {"job_id": "42"})
    m2, meta = from_safetensors_bytes(data)
    assert type(m2) is type(m) and meta["visible_type"] == m.visible_type and meta["job_id"] == "42"
    for name, t in m.tensors().items():
        assert torch.equal(m2.tensors()[name], t) and m2.tensors()[name].dtype == t.dtype


def test_metadata_must_be_strings_and_consistent():
    m = random_bb(3, 2, 1.0, 0)
    with pytest.raises(ValueError):
        to_safetensors_bytes(m, {"epochs": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        to_safetensors_bytes(m, {"visible_type": "gaussian"})


def _file(tensors, metadata=None):
    return save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata)


def test_missing_visible_type_is_inferred():
    t = random_gb(3, 2, 1.0, 0).tensors()
    m, meta = from_safetensors_bytes(_file(t))
    assert isinstance(m, GaussianRBM) and meta["visible_type"] == "gaussian"
    t = random_bb(3, 2, 1.0, 0).tensors()
    assert isinstance(from_safetensors_bytes(_file(t))[0], BernoulliRBM)


def _good():
    return random_bb(4, 3, 1.0, 0, torch.float32).tensors()


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not a safetensors file at all",
        struct.pack("<Q", 10) + b"{not json}",
        struct.pack("<Q", 2**40) + b"{}",
        struct.pack("<Q", 2) + b"[]",
        _file(_good())[:-5],  # truncated payload
        _file({k: v for k, v in _good().items() if k != "hidden_bias"}, {"visible_type": "bernoulli"}),
        _file(dict(_good(), extra=torch.zeros(2)), {"visible_type": "bernoulli"}),
        _file(dict(_good(), hidden_bias=torch.zeros(4)), {"visible_type": "bernoulli"}),
        _file(dict(_good(), visible_bias=torch.zeros(4, 1)), {"visible_type": "bernoulli"}),
        _file(dict(_good(), weight=torch.full((4, 3), float("nan"))), {"visible_type": "bernoulli"}),
        _file(dict(_good(), weight=torch.full((4, 3), float("inf"))), {"visible_type": "bernoulli"}),
        _file(dict(_good(), weight=torch.zeros(4, 3, dtype=torch.int32)), {"visible_type": "bernoulli"}),
        _file(dict(_good(), weight=torch.zeros(4, 3, dtype=torch.float16)), {"visible_type": "bernoulli"}),
        _file(dict(_good(), weight=torch.zeros(4, 3, dtype=torch.float64)), {"visible_type": "bernoulli"}),
        _file(_good(), {"visible_type": "gaussian"}),
        _file(_good(), {"visible_type": "softmax"}),
    ],
)
def test_malformed_files_are_rejected(blob):
    with pytest.raises(InvalidWeights):
        from_safetensors_bytes(blob)


def test_non_bytes_rejected():
    with pytest.raises(InvalidWeights):
        from_safetensors_bytes("hello")  # type: ignore[arg-type]


def test_header_metadata_non_string_rejected():
    body = b""
    header = json.dumps({"__metadata__": {"visible_type": 1}}).encode()
    with pytest.raises(InvalidWeights):
        from_safetensors_bytes(struct.pack("<Q", len(header)) + header + body)
