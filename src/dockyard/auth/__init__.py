"""Identity and access: scopes, signing keys, tokens, htpasswd, and what a request may do.

The registry asks one question of this package (access.py): given a request's credentials, which
actions on which resources are granted? It never decides permissions itself.
"""
