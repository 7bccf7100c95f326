"""Repository settings (visibility, description), collaborators, and who may do what."""
