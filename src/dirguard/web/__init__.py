"""The console and REST API (``dirguard serve``): FastAPI over the typed services.

Thin like the CLI: a route checks who is asking (:mod:`dirguard.web.access`), calls a service
and renders JSON or a template. Areas (one API module and one pages module each) are listed in
:mod:`dirguard.web.areas`; ``docs/web.md`` says how to add one.
"""
