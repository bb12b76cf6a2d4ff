"""The numpy-only unpickler rebuilds arrays and refuses anything that would run code."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from app.data.safe_pickle import restricted_load


class _RunsShell:
    """Unpickling this calls os.system(command) under a plain pickle.load."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def test_numpy_arrays_round_trip() -> None:
    obj = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)), [np.eye(2)])
    # protocol 4: arrays via _reconstruct and raw bytes (protocol 2 from Python 3 would
    # need _codecs.encode, protocol 5 numpy's _frombuffer; neither is needed for MNIST)
    back = restricted_load(io.BytesIO(pickle.dumps(obj, protocol=4)))
    np.testing.assert_array_equal(back[0][0], obj[0][0])
    assert back[0][0].dtype == np.float32 and back[0][1].dtype == np.int64
    np.testing.assert_array_equal(back[1][0], np.eye(2))


def test_os_system_pickle_is_refused_and_not_run(tmp_path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"x": np.ones(2), "evil": _RunsShell(f"touch {marker}")}, protocol=4)
    # the payload really is dangerous: it names os.system / posix.system
    assert b"system" in payload
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global (os|posix)\.system"):
        restricted_load(io.BytesIO(payload))
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_builtins_eval_is_refused(protocol: int) -> None:
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global (__builtin__|builtins)\.eval"):
        restricted_load(io.BytesIO(pickle.dumps(_CallsEval(), protocol=protocol)))


def test_other_numpy_callables_are_refused() -> None:
    # numpy.load itself is a global a malicious pickle could ask for
    payload = b"\x80\x02cnumpy\nload\nq\x00."
    with pytest.raises(pickle.UnpicklingError, match="numpy.load"):
        restricted_load(io.BytesIO(payload))


def test_python3_protocol2_bytes_need_codecs_which_is_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="_codecs.encode"):
        restricted_load(io.BytesIO(pickle.dumps(np.ones(2), protocol=2)))
