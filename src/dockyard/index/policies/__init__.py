"""/api for storage policies: usage, quotas, immutable tags and retention policies."""
