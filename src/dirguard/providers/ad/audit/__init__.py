"""AD actor sources: Samba JSON audit, Windows security events, and matching them to changes."""
