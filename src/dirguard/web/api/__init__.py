"""REST API under ``/api/v1``: one module per area, each with a ``router`` (see
:mod:`dirguard.web.areas`)."""
