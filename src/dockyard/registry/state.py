"""The services one registry process holds, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.metrics import switch
from dockyard.registry.blobs import BlobStore
from dockyard.registry.cache import MetadataCache, create_cache
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.manifests import ManifestService
from dockyard.registry.mirrors import Mirrors
from dockyard.registry.policies.pulls import TagPulls
from dockyard.registry.policies.quotas import Quotas
from dockyard.registry.tag_lists import TagLists
from dockyard.registry.uploads import UploadService
from dockyard.storage import StorageDriver, create_driver

# The encoded tag lists a process keeps: about fifty lists of 10,000 tags.
TAG_LISTS_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Registry:
    database: Database
    driver: StorageDriver
    blobs: BlobStore
    uploads: UploadService
    manifests: ManifestService
    cache: MetadataCache
    events: EventLog
    quotas: Quotas
    tag_pulls: TagPulls
    mirrors: Mirrors
    tag_page_size: int  # tags in a /tags/list page without `n`
    tag_lists: TagLists

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        database = Database(settings.database_url, settings.database.pool_size)
        cache = create_cache(settings.cache)
        driver = create_driver(settings.storage, settings.storage_root)
        if switch.on:
            from dockyard.metrics.storage import measured

            driver = measured(driver, settings.storage.driver)
        events = EventLog.from_settings(settings, database)
        blobs = BlobStore(database, driver, settings.storage.blob_redirect_expiry, cache, events)
        quotas = Quotas(database, settings.registry.quotas)
        uploads = UploadService(database, driver, blobs, quotas)
        manifests = ManifestService(
            database, settings.registry.max_manifest_bytes, cache, events, settings.registry.quotas
        )
        spool = settings.data_dir / "mirror-spool"
        return cls(
            database=database,
            driver=driver,
            blobs=blobs,
            uploads=uploads,
            manifests=manifests,
            cache=cache,
            events=events,
            quotas=quotas,
            tag_pulls=TagPulls(),
            mirrors=Mirrors(settings.mirrors, database, manifests, blobs, uploads, spool),
            tag_page_size=settings.registry.tag_page_size,
            tag_lists=TagLists(TAG_LISTS_BYTES),
        )


def registry_of(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry
