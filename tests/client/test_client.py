"""RBMClient against the app (FastAPI TestClient as its httpx client): every method, with answers
checked against numpy on the downloaded weights; errors, retries and the API key."""

from __future__ import annotations

import inspect

import httpx
import numpy as np
import pytest

from app.client import AsyncRBMClient, RBMClient, RBMConnectionError, RBMError
from tests.client.reference import NumpyRBM
from tests.pictures.grid import decode_png


@pytest.fixture
def rbm(client) -> RBMClient:
    return RBMClient(http=client, retries=0)


def train(rbm: RBMClient, worker, builtin: str = "bars-and-stripes", params: dict | None = None, **training) -> dict:
    ds = rbm.create_builtin(builtin, params if params is not None else {"n": 3}, name="bs")
    job = rbm.submit_job(ds["id"], 6, epochs=training.pop("epochs", 3), seed=2, **training)
    worker.run_until_idle()
    return rbm.job(job["id"])


def test_datasets_jobs_models_lifecycle(rbm, worker, tmp_path):
    assert rbm.health() == {"status": "ok"} and rbm.ready()["status"] == "ok"
    assert {b["name"] for b in rbm.builtins()} >= {"digits", "mnist", "ising", "bars-and-stripes"}

    job = train(rbm, worker)
    assert job["status"] == "succeeded" and job["progress"] == {"epoch": 3, "epochs": 3, "step": 3, "steps": 3, "unit": "epoch"}
    ds = rbm.dataset(job["dataset_id"])
    assert (ds["name"], ds["n_features"], ds["image_shape"]) == ("bs", 9, [3, 3])
    assert [d["id"] for d in rbm.datasets()["items"]] == [ds["id"]]
    assert rbm.jobs(status="succeeded")["items"][0]["id"] == job["id"] and rbm.jobs(status="queued")["items"] == []

    events = list(rbm.events(job["id"]))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert [e.data["epoch"] for e in events if e.event == "progress"] == [1, 2, 3]
    assert events[-1].data == {"status": "succeeded", "model_id": job["model_id"]}
    assert [e.id for e in rbm.events(job["id"], last_event_id=4)] == [5]

    model = rbm.model(job["model_id"])
    assert rbm.models()["items"][0]["id"] == model["id"]
    weights = rbm.weights(model["id"])
    (tmp_path / "w.safetensors").write_bytes(weights)
    copy = rbm.upload_model(tmp_path / "w.safetensors", name="copy", image_shape=(3, 3))
    assert (copy["name"], copy["image_shape"], copy["source"]) == ("copy", [3, 3], "upload")
    v = np.eye(9)[:3]
    np.testing.assert_allclose(rbm.free_energy(copy["id"], v), rbm.free_energy(model["id"], v))
    rbm.delete_model(copy["id"])
    with pytest.raises(RBMError) as err:
        rbm.model(copy["id"])
    assert err.value.status == 404 and err.value.code == "not_found" and copy["id"] in err.value.message

    uploaded = rbm.upload_dataset(np.eye(4), name="eye")
    assert (uploaded["n_samples"], uploaded["n_features"]) == (4, 4)
    rbm.delete_dataset(uploaded["id"])
    queued = rbm.submit_job(ds["id"], 4)
    assert rbm.cancel_job(queued["id"])["status"] == "cancelled"
    assert [e.data["status"] for e in rbm.events(queued["id"])] == ["cancelled"]
    assert rbm.wait(queued["id"])["status"] == "cancelled"


def test_model_queries_match_numpy(rbm, worker):
    job = train(rbm, worker)
    model_id, ds_id = job["model_id"], job["dataset_id"]
    ref = NumpyRBM(rbm.weights(model_id))
    v = np.random.default_rng(0).integers(0, 2, size=(5, 9)).astype(float)

    fe = rbm.free_energy(model_id, v)
    assert isinstance(fe, np.ndarray) and fe.shape == (5,)
    np.testing.assert_allclose(fe, ref.free_energy(v), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(rbm.hidden(model_id, v), ref.hidden(v), atol=1e-5)
    np.testing.assert_allclose(rbm.reconstruct(model_id, v), ref.reconstruct(v), atol=1e-5)
    np.testing.assert_allclose(rbm.free_energy(model_id, v[0]), ref.free_energy(v[:1]), rtol=1e-5, atol=1e-4)

    z = rbm.partition_function(model_id, "exact")
    assert z["method"] == "exact" and z["log_z"] == pytest.approx(ref.log_z(), abs=1e-4)
    ll = rbm.log_likelihood(model_id, v, method="exact")
    np.testing.assert_allclose(ll.values, -ref.free_energy(v) - ref.log_z(), atol=1e-4)
    assert ll.mean == pytest.approx(ll.values.mean()) and ll.method == "exact"
    assert rbm.log_likelihood(model_id, dataset_id=ds_id, limit=4, method="exact").values.shape == (4,)
    pll = rbm.pseudo_likelihood(model_id, v)
    np.testing.assert_allclose(pll.values, ref.pseudo_log_likelihood(v), atol=1e-4)
    uniform = np.full(512, 1 / 512)
    q = np.exp(-ref.free_energy(ref.all_states()) - ref.log_z())
    kl = rbm.kl_divergence(model_id, uniform)
    assert kl["n_states"] == 512 and kl["kl_divergence"] == pytest.approx(float(np.sum(uniform * np.log(uniform / q))), abs=1e-4)
    assert rbm.kl_divergence(model_id, dataset_id=ds_id)["kl_divergence"] >= 0

    s = rbm.samples(model_id, 7, steps=10, seed=4, return_hidden=True, sampler="gibbs")
    assert s.samples.shape == (7, 9) and s.hidden.shape == (7, 6) and s.seed == 4 and s.sampler == "gibbs"
    np.testing.assert_array_equal(rbm.samples(model_id, 7, steps=10, seed=4, sampler="gibbs").samples, s.samples)
    m = rbm.samples(model_id, 3, steps=5, seed=1, sampler="metropolis")
    assert 0 <= m.acceptance_rate <= 1
    assert rbm.samples(model_id, 2, steps=1, init="vectors", vectors=v[:2]).samples.shape == (2, 9)


def test_pictures(rbm, worker):
    job = train(rbm, worker)
    model_id = job["model_id"]
    for png in (rbm.samples_png(model_id, 4, steps=5, seed=1), rbm.filters_png(model_id, 6),
                rbm.reconstructions_png(model_id, 3), rbm.curves_png(job["id"])):
        assert decode_png(png).size > 0
    with pytest.raises(RBMError) as err:
        rbm.ising_curves_png()
    assert err.value.status == 422 and "temperatures" in err.value.message


def test_ising_observables(rbm, worker):
    job = train(rbm, worker, "ising", {"L": 3, "T": 2.5, "n_samples": 200})
    out = rbm.ising_observables(job["model_id"], n_samples=100, steps=10, seed=0)
    assert (out["L"], out["T"], out["source"]) == (3, 2.5, "dataset")
    assert out["energy_per_site"]["exact_enumeration"] is not None


def test_errors_carry_status_code_and_message(rbm):
    with pytest.raises(RBMError) as err:
        rbm.submit_job("missing", 4)
    assert (err.value.status, err.value.code) == (404, "not_found")
    with pytest.raises(RBMError) as err:
        rbm.create_builtin("digits", {"bogus": 1})
    assert err.value.status == 422 and "bogus" in err.value.message
    with pytest.raises(ValueError):
        rbm.free_energy("any", np.zeros((2, 2, 2)))


def mock_client(handler, **kwargs) -> RBMClient:
    return RBMClient("http://rbm.test", http=httpx.Client(base_url="http://rbm.test", transport=httpx.MockTransport(handler)),
                     backoff=0, **kwargs)


def test_connection_errors_are_retried_with_a_bound():
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"status": "ok"})

    assert mock_client(flaky, retries=3).health() == {"status": "ok"} and len(calls) == 3
    calls.clear()
    with pytest.raises(RBMConnectionError) as err:
        mock_client(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)), retries=2).health()
    assert err.value.status == 0 and err.value.code == "connection_error"


def test_a_write_is_not_repeated_after_the_request_may_have_arrived():
    calls = []

    def drops(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(RBMConnectionError):
        mock_client(drops, retries=3).submit_job("d", 4)
    assert calls == ["POST"], "a job submission is sent once"
    calls.clear()
    with pytest.raises(RBMConnectionError):
        mock_client(drops, retries=3).job("j")
    assert calls == ["GET"] * 4, "reads are retried"


def test_api_key_from_argument_or_environment(monkeypatch):
    seen = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"status": "ok"})

    mock_client(record, api_key="k1").health()
    monkeypatch.setenv("RBM_API_KEY", "k2")
    mock_client(record).health()
    monkeypatch.delenv("RBM_API_KEY")
    mock_client(record).health()
    assert seen == ["Bearer k1", "Bearer k2", None]
    monkeypatch.setenv("RBM_URL", "http://elsewhere:9000/")
    assert RBMClient().config.base_url == "http://elsewhere:9000"


def test_non_json_error_body_still_raises_rbm_error():
    with pytest.raises(RBMError) as err:
        mock_client(lambda r: httpx.Response(502, text="<html>bad gateway</html>")).health()
    assert err.value.status == 502 and "bad gateway" in err.value.message


def test_async_client_has_the_same_methods_as_the_sync_one():
    def public(cls) -> dict:
        return {n: inspect.signature(f) for n, f in vars(cls).items() if callable(f) and not n.startswith("_")
                and n not in ("close", "aclose")}

    sync, aio = public(RBMClient), public(AsyncRBMClient)
    assert set(sync) == set(aio)
    for name in sync:
        assert list(sync[name].parameters) == list(aio[name].parameters), name
        method = vars(AsyncRBMClient)[name]
        assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name


def test_a_read_timeout_says_timed_out_not_cannot_reach():
    import httpx

    from app.client import RBMClient
    from app.client.errors import RBMTimeoutError

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    calls = {"n": 0}

    def counting(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return slow(request)

    http = httpx.Client(base_url="http://rbm.test", transport=httpx.MockTransport(counting))
    with RBMClient("http://rbm.test", http=http, timeout=5, retries=3, backoff=0) as rbm:
        try:
            rbm.job("x")
        except RBMTimeoutError as exc:
            assert exc.code == "timeout" and "did not answer within 5 s" in exc.message
            assert "cannot reach" not in exc.message
        else:
            raise AssertionError("no timeout error")
    assert calls["n"] == 1  # a busy server is not asked again
