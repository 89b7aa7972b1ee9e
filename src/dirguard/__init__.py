"""dirguard: guardian and administration console for hybrid identity."""

__version__ = "0.1.0"
