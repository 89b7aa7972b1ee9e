"""Setting up and checking dirguard's AD service account: groups, rights, container access."""
