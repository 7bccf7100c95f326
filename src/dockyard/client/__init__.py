"""A client of the OCI distribution API for any registry that follows the specs: references,
authentication (Docker's tokens, Basic, docker's config.json and credential helpers), retries,
verified downloads that resume, uploads that skip and mount. Imports nothing of the server."""

from dockyard.client.challenge import Challenge, format_challenges, parse_challenges
from dockyard.client.credentials import (
    Anonymous,
    ChainedCredentials,
    Credential,
    Credentials,
    CredentialsError,
    DockerConfig,
    StaticCredentials,
)
from dockyard.client.errors import (
    BlobUnknown,
    Denied,
    DigestMismatch,
    InvalidReference,
    InvalidRequest,
    InvalidURL,
    ManifestUnknown,
    NameUnknown,
    NotFound,
    RegistryError,
    RegistryUnavailable,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    Unsupported,
)
from dockyard.client.images import Descriptor, Image, Index, InvalidContent, Manifest, Platform
from dockyard.client.reference import Reference
from dockyard.client.registry import Registry, RegistryClient
from dockyard.client.repository import MAX_MANIFEST_BYTES, Repository, referrers_tag
from dockyard.client.transport import HostOptions, RetryPolicy
from dockyard.client.uploads import Pushed, PushedBlob

__all__ = [
    "MAX_MANIFEST_BYTES",
    "Anonymous",
    "BlobUnknown",
    "ChainedCredentials",
    "Challenge",
    "Credential",
    "Credentials",
    "CredentialsError",
    "Denied",
    "Descriptor",
    "DigestMismatch",
    "DockerConfig",
    "HostOptions",
    "Image",
    "Index",
    "InvalidContent",
    "InvalidReference",
    "InvalidRequest",
    "InvalidURL",
    "Manifest",
    "ManifestUnknown",
    "NameUnknown",
    "NotFound",
    "Platform",
    "Pushed",
    "PushedBlob",
    "Reference",
    "Registry",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "Repository",
    "RetryPolicy",
    "StaticCredentials",
    "TooLarge",
    "TooManyRequests",
    "Unauthorized",
    "Unsupported",
    "format_challenges",
    "parse_challenges",
    "referrers_tag",
]
