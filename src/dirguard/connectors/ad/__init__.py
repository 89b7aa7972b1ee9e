"""Active Directory over LDAP: connection, paged search, DirSync, schema syntaxes."""
