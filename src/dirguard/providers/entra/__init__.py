"""Microsoft Entra ID and Microsoft 365 over Microsoft Graph: the Graph client, connection setup
and validation."""
