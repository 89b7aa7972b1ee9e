"""The Graph collection engine: pacing (concurrency, resource units, the conditional-access
budget, Retry-After), paging, ``$batch`` and delta rounds, on the tenant's :class:`GraphClient`
(httpx + azure-identity; not msgraph-sdk)."""
