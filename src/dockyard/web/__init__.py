"""The hub's web UI: server-rendered pages over the index's services (docs/web.md).

`setup.py` wires the routes; `http.py` is what every page shares (the `page` decorator, forms,
errors, security headers); `session.py` and `csrf.py` the sign-in cookie and form tokens;
`pages/` one module per page family; `templates/` and `static/` what they render and serve.
"""
