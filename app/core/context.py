"""The per-process objects every route, the worker and the CLI share: settings, database,
artifact store and the loaded-model cache. Built once by the app factory or the worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.settings import Settings
from app.db.session import Database
from app.storage.artifacts import ArtifactStore
from app.storage.model_cache import ModelCache


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    store: ArtifactStore
    models: ModelCache = field(init=False)

    def __post_init__(self) -> None:
        self.models = ModelCache(self.store, self.settings.model_cache_size, self.settings.device,
                                 self.settings.model_cache_bytes)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceContext:
        return cls(settings, Database(settings.resolved_database_url),
                   ArtifactStore(settings.resolved_artifact_dir))

    def close(self) -> None:
        self.db.dispose()
