"""The index (the hub): accounts, organisations, repository settings and who may do what."""
