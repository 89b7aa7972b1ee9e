"""Console pages: one module per area, each with a ``router`` (see :mod:`dirguard.web.areas`)."""
