"""The Python client and the `rbm` CLI for DBNs, features and labelled uploads."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from app.client import cli
from app.client.errors import RBMError

from tests.client.cli_harness import runner


def test_cli_train_layers_and_client_features(rbm, worker):
    ds = rbm.create_builtin("digits", {"test_fraction": 0.2})
    result = runner.invoke(cli.app, ["train", "--dataset", ds["id"], "--layers", "12,6", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    job_id = re.search(r"job (\w+) queued", result.output).group(1)
    worker.run_until_idle()
    job = rbm.job(job_id)
    assert job["status"] == "succeeded" and job["progress"]["epochs"] == 4
    model = rbm.model(job["model_id"])
    assert model["kind"] == "dbn" and model["info"]["layers"] == [64, 12, 6]

    f = rbm.features(model["id"], ds["id"], split="test", layer=1)
    assert f.features.shape == (ds["n_test"], 12) and f.labels.shape == (ds["n_test"],) and f.layer == 1
    rows = (np.random.default_rng(0).random((3, 64)) < 0.5).astype(np.float32)
    assert rbm.hidden(model["id"], rows, layer=2).shape == (3, 6)
    assert rbm.reconstruct(model["id"], rows, layer=1).shape == (3, 64)

    job2 = rbm.submit_dbn_job(ds["id"], [8, 4], layers_training=[{"epochs": 1}, {"epochs": 2}])
    assert job2["progress"]["epochs"] == 3

    bad = runner.invoke(cli.app, ["train", "--dataset", ds["id"], "--layers", "12,6", "--hidden", "3"])
    assert bad.exit_code == 1 and "--layers N,N" in bad.output
    with pytest.raises(RBMError) as err:
        rbm.hidden(model["id"], rows, layer=7)
    assert err.value.status == 422


def test_client_uploads_labels(rbm):
    x = np.zeros((6, 3), np.float32)
    buf = io.BytesIO()
    np.savez(buf, train=x, y=np.array([0, 1, 2, 0, 1, 2]))
    assert rbm.upload_dataset(_named(buf), "l")["n_classes"] == 3
    csv = b"a,b,label\n0,1,1\n1,0,0\n"
    ds = rbm.upload_dataset(_named(io.BytesIO(csv), "d.csv"), "c", label_column="label")
    assert ds["has_labels"] and ds["n_features"] == 2


def _named(buf: io.BytesIO, name: str = "d.npz"):
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / name
    path.write_bytes(buf.getvalue())
    return path
