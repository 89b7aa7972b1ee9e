"""Active Directory over LDAP: connection, reading, DirSync, normalisation, planning, security
descriptors, audit sources, setup."""
