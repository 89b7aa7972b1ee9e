"""Microsoft Graph: app-only tokens (azure-identity) and a small paging, retrying client."""

from dirguard.connectors.graph.client import GraphAuthError, GraphClient, GraphError

__all__ = ["GraphAuthError", "GraphClient", "GraphError"]
