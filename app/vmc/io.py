"""Wave functions and VMC checkpoints as safetensors.

Why metadata: a stored wave function is useless without the system it was optimised
for and the ansatz's hyper-parameters (form, sigma^2, Jastrow), so they travel as
JSON in the safetensors header; ``load_wavefunction`` rebuilds the same object.
Checkpoints are flat tensor dicts because the job store keeps safetensors only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from app.vmc.ansatz import build_wavefunction
from app.vmc.config import ModelConfig, VMCConfig, config_to_dict
from app.vmc.systems import System, system_from_dict, system_to_dict

FORMAT = "rbm-service/vmc-wavefunction/1"


@dataclass
class StoredWavefunction:
    system: System
    model: ModelConfig
    config: VMCConfig
    wf: Any
    info: dict[str, Any]


def wavefunction_bytes(vmc, info: dict[str, Any] | None = None) -> bytes:
    """The optimised parameters of a :class:`~app.vmc.driver.VMC` with everything to rebuild it."""
    meta = {"format": FORMAT, "system": json.dumps(system_to_dict(vmc.system)),
            "model": json.dumps(config_to_dict(vmc.model)), "config": json.dumps(config_to_dict(vmc.config)),
            "info": json.dumps(info or {})}
    return save_tensors({"params": vmc.wf.params.detach().clone().contiguous()}, metadata=meta)


def is_wavefunction(data: bytes) -> bool:
    try:
        n = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + n]).get("__metadata__", {}).get("format") == FORMAT
    except (ValueError, UnicodeDecodeError):
        return False


def load_wavefunction(data: bytes) -> StoredWavefunction:
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + n]).get("__metadata__", {})
    if meta.get("format") != FORMAT:
        raise ValueError("not a VMC wave function file")
    system = system_from_dict(json.loads(meta["system"]))
    model = ModelConfig(**json.loads(meta["model"]))
    config = VMCConfig(**json.loads(meta["config"]))
    wf = build_wavefunction(system, model)
    params = load_tensors(data)["params"].to(torch.float64)
    if params.shape != wf.params.shape:
        raise ValueError(f"stored parameters have shape {tuple(params.shape)}, "
                         f"the ansatz needs {tuple(wf.params.shape)}")
    wf.params.copy_(params)
    return StoredWavefunction(system, model, config, wf, json.loads(meta.get("info", "{}")))


def state_to_tensors(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A :meth:`VMC.state_dict` as named tensors (checkpoint store)."""
    out = {"params": state["params"], "sampler_state": state["sampler_state"], "rng": state["rng"],
           "iteration": torch.tensor([state["iteration"]], dtype=torch.int64)}
    for k, v in state["optimizer"].items():
        out[f"optimizer.{k}"] = v if isinstance(v, torch.Tensor) else torch.tensor([v], dtype=torch.int64)
    return out


def tensors_to_state(tensors: dict[str, torch.Tensor], vmc) -> dict[str, Any]:
    """Inverse of :func:`state_to_tensors` for the run ``vmc`` (its system and configs)."""
    opt = {}
    for k, v in tensors.items():
        if k.startswith("optimizer."):
            name = k.split(".", 1)[1]
            opt[name] = int(v[0]) if v.dtype == torch.int64 else v
    return {"system": system_to_dict(vmc.system), "params": tensors["params"], "optimizer": opt,
            "sampler_state": tensors["sampler_state"], "rng": tensors["rng"],
            "iteration": int(tensors["iteration"][0])}
