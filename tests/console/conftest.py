"""The console tests use the AD tests' fixtures (domain configuration, connection, names)."""

from tests.ad.conftest import ad_conn, ad_domain, samba_tool, unique

__all__ = ["ad_conn", "ad_domain", "samba_tool", "unique"]
