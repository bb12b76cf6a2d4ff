"""The API process's model cache: hits, misses, models and bytes held (app.storage.model_cache)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.storage.model_cache import ModelCache


class ModelCacheCollector(Collector):
    def __init__(self, cache: ModelCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Any]:
        hits = CounterMetricFamily("rbm_model_cache_hits", "Model lookups served from this process's cache.")
        hits.add_metric([], float(self.cache.hits))
        misses = CounterMetricFamily("rbm_model_cache_misses", "Model lookups that loaded the weights from the store.")
        misses.add_metric([], float(self.cache.misses))
        models = GaugeMetricFamily("rbm_model_cache_models", "Models held in this process's cache.")
        models.add_metric([], float(len(self.cache)))
        size = GaugeMetricFamily("rbm_model_cache_bytes", "Bytes of model tensors held in this process's cache.")
        size.add_metric([], float(self.cache.nbytes))
        yield from (hits, misses, models, size)
