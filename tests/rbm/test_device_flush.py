"""flush_denormals switches this process's CPU math to flush-to-zero (checked in a child process,
so the test run's own floating-point mode is left alone)."""

import subprocess
import sys

CODE = """
import torch
from app.rbm.device import flush_denormals
tiny = torch.tensor([1e-39], dtype=torch.float32)   # a float32 denormal
assert float(tiny * 1.0) != 0.0
assert flush_denormals()
assert float(tiny * 1.0) == 0.0 and float(torch.sigmoid(torch.tensor([-100.0]))) == 0.0
assert float(torch.tensor([1e-37]) * 1.0) != 0.0  # normal numbers are untouched
print("ok")
"""


def test_flush_denormals_zeroes_denormals_only():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
