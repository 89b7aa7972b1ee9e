"""The console's people: roles, local accounts, sessions, API tokens and sign-in checks.

Used by the web layer (``dirguard serve``) and by ``dirguard account``; nothing here knows HTTP.
"""
