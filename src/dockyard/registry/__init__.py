"""The OCI Distribution API: blobs, uploads, manifests, tags, catalog, referrers."""
