"""Users: sign-up, passwords, site administrators."""
