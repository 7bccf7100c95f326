"""/api/replication: the registry's replication rules and runs, for site administrators."""
