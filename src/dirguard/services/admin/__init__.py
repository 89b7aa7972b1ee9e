"""The Administrator service: delegation (roles × scopes) and the web actions it governs."""
