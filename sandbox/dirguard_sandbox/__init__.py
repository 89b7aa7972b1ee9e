"""A stateful stand-in for a Microsoft 365 tenant: Microsoft Graph v1.0 plus Entra token endpoints.

A separate program that happens to live in dirguard's repository, like a test server: it imports
nothing from ``dirguard``. Run it with ``python -m dirguard_sandbox serve``.
"""

__all__: list[str] = []
