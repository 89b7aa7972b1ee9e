"""Source providers: everything that differs per kind of directory (AD over LDAP, Entra over
Graph)."""
