"""Personal access tokens and robot accounts: secrets that stand in for a password, capped."""
