"""Pure OCI and Docker format knowledge: digests, names, media types, manifests. No I/O."""
