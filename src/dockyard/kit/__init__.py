"""Small generic pieces every HTTP layer of Dockyard shares (registry, token service, index)."""
