"""Active Directory over LDAP: connection, reading, DirSync, normalisation, planning, security
descriptors, audit sources, setup."""

KIND = "ad"
"""The provider kind: prefix of AD's type keys (``ad.user``) and store keys
(``ad:corp.example.com``, :func:`dirguard.providers.base.store_source`)."""
