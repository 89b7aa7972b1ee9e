"""Connecting an Entra tenant: the API-access application, its certificate, roles and consent."""
