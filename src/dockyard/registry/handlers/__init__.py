"""HTTP handlers, one module per resource; routing and checks live in registry/routes.py."""
