"""Stars and comments on repositories: what signed-in people add to what the registry holds."""

from dockyard.index.community.forgetting import forget_repository, forget_user

__all__ = ["forget_repository", "forget_user"]
