"""Webhooks: Docker Hub's push notifications, per repository and per organisation, signed and
delivered from a queue in the database (docs/decisions/0017-webhooks.md)."""
