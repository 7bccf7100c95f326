"""Organisations: a namespace owned by its owners, with teams of members."""
