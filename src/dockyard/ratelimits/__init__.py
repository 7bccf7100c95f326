"""Rate limits: requests per client address and per account, by class (pulls, pushes, /token,
/api, search), and failed logins. Counted with the `limits` library: in Redis when one is
configured, once across every worker and node; without Redis, requests in each process's memory
and failed logins in the database (docs/decisions/0023-rate-limits.md)."""
