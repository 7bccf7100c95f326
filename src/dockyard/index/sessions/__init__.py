"""The web UI's sessions: server-side rows a signed cookie names (dockyard.web.session)."""
