"""Online garbage collection and the consistency check (decision 0020)."""
