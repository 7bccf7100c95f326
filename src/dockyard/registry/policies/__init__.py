"""Storage policies: accounting, quotas per namespace, immutable tags, retention."""
