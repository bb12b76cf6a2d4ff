"""Artifact store: weights, dataset arrays and checkpoints as files under one directory.

Why files and not database blobs: arrays reach hundreds of MB (70,000 x 784 float32 is 220 MB),
which PostgreSQL stores poorly and SQLite copies on every read; files can be memory-mapped and
streamed. Processes on several machines share the directory through a volume (see compose.yaml).
Keys are generated here, never derived from user input, and writes are atomic (temp + rename),
so a reader never sees half a file and a crash never leaves a half-written model.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def new_key(self, kind: str, suffix: str) -> str:
        return f"{kind}/{uuid.uuid4().hex}{suffix}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"artifact key escapes the store: {key!r}")
        return path

    def put_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str | None) -> None:
        if key:
            self._path(key).unlink(missing_ok=True)

    def put_array(self, kind: str, array: np.ndarray) -> str:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
        return self.put_bytes(self.new_key(kind, ".npy"), buf.getvalue())

    def get_array(self, key: str, mmap: bool = True) -> np.ndarray:
        """Memory-mapped by default: a worker reading a big dataset does not copy it twice."""
        return np.load(self._path(key), mmap_mode="r" if mmap else None, allow_pickle=False)
