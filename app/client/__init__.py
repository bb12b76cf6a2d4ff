"""Python client for rbm-service: ``RBMClient`` (blocking) and ``AsyncRBMClient`` (asyncio), on
httpx, plus the ``rbm`` command line (``app.client.cli``). Imports nothing of the server, so it is
light to use from a notebook::

    from app.client import RBMClient
    with RBMClient() as rbm:                      # RBM_URL, RBM_API_KEY
        ds = rbm.create_builtin("digits")
        job = rbm.wait(rbm.submit_job(ds["id"], n_hidden=64, epochs=20)["id"])
        samples = rbm.samples(job["model_id"], 16, seed=1).samples   # numpy (16, 64)
"""

from app.client.aio import AsyncRBMClient
from app.client.calls import KLDivergence, LogLikelihood, Page, PartitionFunction, PseudoLikelihood, Samples
from app.client.errors import RBMConnectionError, RBMError
from app.client.sse import JobEvent
from app.client.sync import RBMClient

__all__ = [
    "AsyncRBMClient",
    "JobEvent",
    "KLDivergence",
    "LogLikelihood",
    "Page",
    "PartitionFunction",
    "PseudoLikelihood",
    "RBMClient",
    "RBMConnectionError",
    "RBMError",
    "Samples",
]
