"""Microsoft Entra ID and Microsoft 365 over Microsoft Graph: the Graph client, connection setup
and validation."""

KIND = "entra"
"""The provider kind: prefix of Entra's type keys (``entra.user``) and store keys
(``entra:contoso``, :func:`dirguard.providers.base.store_source`)."""
