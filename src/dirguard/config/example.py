"""The commented example configuration that ``dirguard init`` writes."""

EXAMPLE_CONFIG = """\
# dirguard configuration. Every setting can be overridden by an environment variable:
# DIRGUARD_<SECTION>__<KEY>, e.g. DIRGUARD_STORE__URL or DIRGUARD_AD__DOMAINS__0__MODE.
# Check this file with: dirguard config check

[store]
# Embedded default: SQLite in ~/.local/share/dirguard/dirguard.db.
# PostgreSQL: url = "postgresql://dirguard@db.example.com/dirguard"
# (no password in the URL: use PGPASSWORD or ~/.pgpass).
# url = "sqlite:////var/lib/dirguard/dirguard.db"

[log]
level = "info"          # debug | info | warning | error
format = "text"         # text | json

[secrets]
# Encrypted secret store used by credential references of the form secret:NAME.
# key_file = "/etc/dirguard/secret.key"      # created with mode 0600
# store_file = "/var/lib/dirguard/secrets.json"

# Credentials are never written here. Each password / client_secret / certificate is a
# reference: env:VARIABLE, file:/absolute/path (mode 0600) or secret:NAME
# (stored with `dirguard secret set NAME`).

# One table per Active Directory domain.
# [[ad.domains]]
# name = "corp.example.com"
# servers = ["dc1.corp.example.com", "dc2.corp.example.com"]
# transport = "ldaps"         # ldaps (636) | starttls (389)
# verify_tls = true           # turning this off is logged at every connection
# ca_file = "/etc/dirguard/corp-ca.pem"
# auth = "simple"             # simple (bind_upn + password) | gssapi (Kerberos ticket)
# bind_upn = "svc-dirguard@corp.example.com"
# password = "env:DIRGUARD_AD_PASSWORD"
# mode = "read-only"          # read-only (monitoring) | full (monitoring and rollback)
# Read-only mode with just-in-time elevation (optional): for a rollback or undelete this
# account adds bind_upn to the admin group the plan needs (Domain Admins, Enterprise Admins,
# Schema Admins), dirguard binds anew as bind_upn, applies the plan, and removes the membership
# (also after a failure; after a crash at the next start: `dirguard elevation revoke`).
# elevation_bind_upn = "svc-dirguard-elevate@corp.example.com"
# elevation_password = "secret:dirguard-elevate"
# The Administrator's web actions (new user, reset password, enable/disable, unlock, move,
# delete, group membership) run as this account, a member of Account Operators; never as the
# person in the console. Unset: the domain offers no web actions.
# admin_bind_upn = "svc-dirguard-admin@corp.example.com"
# admin_password = "secret:dirguard-admin"
# partitions = ["domain"]     # domain is always on; add "configuration", "schema"
# Who made each change and from where, from a Samba DC's JSON audit (smb.conf [global]:
# log level = 1 dsdb_json_audit:5@/var/log/samba/dsdb_audit.json
#   dsdb_group_json_audit:5@/var/log/samba/dsdb_group_audit.json
#   dsdb_password_json_audit:5@/var/log/samba/dsdb_password_audit.json  -- one line).
# Keep this order: directory changes, group changes, password changes.
# samba_audit_files = ["/var/log/samba/dsdb_audit.json", "/var/log/samba/dsdb_group_audit.json",
#                      "/var/log/samba/dsdb_password_audit.json"]

# One table per Microsoft Entra tenant.
# [[entra.tenants]]
# name = "contoso"
# tenant_id = "00000000-0000-0000-0000-000000000000"
# client_id = "00000000-0000-0000-0000-000000000000"
# certificate = "secret:contoso-app-cert"     # or client_secret = "env:DIRGUARD_ENTRA_SECRET"
# mode = "read-only"
# services = ["guardian"]     # guardian | administrator
# authority = "https://login.microsoftonline.com"
# graph_url = "https://graph.microsoft.com"
# Read-only mode with just-in-time elevation (optional): for a rollback a separate application
# (AppRoleAssignment.ReadWrite.All, Application.Read.All, RoleManagement.ReadWrite.Directory)
# grants dirguard's application exactly the write permissions and directory roles the plan
# needs (roles for at most elevation_minutes), and removes them when the rollback ends.
# elevation_client_id = "00000000-0000-0000-0000-000000000000"
# elevation_certificate = "secret:contoso-elevation-cert"   # or elevation_client_secret
# elevation_minutes = 60

# The web console and REST API (`dirguard serve`).
# [web]
# host = "127.0.0.1"           # loopback by default
# port = 8443
# tls = true                   # HTTPS; without tls_cert a self-signed certificate is made
# tls_cert = "/etc/dirguard/console.pem"
# tls_key = "/etc/dirguard/console-key.pem"
# session_idle_minutes = 30
# session_absolute_hours = 12
# login_attempts = 5           # failed sign-ins per account and per address ...
# login_window_minutes = 15    # ... within this window
# Entra ID single sign-on (OpenID Connect, authorization code + PKCE; openid + User.Read).
# [web.oidc]
# tenant_id = "00000000-0000-0000-0000-000000000000"
# client_id = "00000000-0000-0000-0000-000000000000"   # redirect URI .../signin/entra/callback
# client_secret = "secret:console-oidc"
# default_role = "viewer"      # omit to refuse people no mapping names
# people_read = true          # + delegated People.Read: approvers from the requester's people
# [web.oidc.group_roles]       # Entra group object id -> role (the ID token's groups claim)
# "11111111-1111-1111-1111-111111111111" = "administrator"
# [web.oidc.app_roles]         # app role value -> role (the ID token's roles claim)
# "dirguard.approver" = "approver"

# Threat detection (docs/threats.md lists the built-in rules; `dirguard threats list`).
# [threats]
# rules_dir = "/etc/dirguard/threats"   # site rule files (*.toml)
# actor_grace = 300            # seconds an unattributed change waits for its actor
# exposure_interval = 3600     # seconds between the monitor's exposure checks (0: none)
# [threats.rules.AD-PRIV-GROUP-ADD]
# exclude_actors = ['CORP\\breakglass*']
# auto_undo = true             # put Domain/Enterprise/Schema Admins additions back
# allow_actors = ['CORP\\iam-pipeline']
# [[threats.webhooks]]         # signed: X-Dirguard-Signature: sha256=HMAC(timestamp.body)
# url = "https://siem.example.com/hooks/dirguard"
# signing_secret = "secret:dirguard-webhook"
# [[threats.syslog]]           # RFC 5424, JSON or CEF
# host = "siem.example.com"
# port = 514
# transport = "udp"
# format = "cef"
# [[threats.email]]            # Graph sendMail of a configured tenant (Mail.Send)
# tenant = "contoso"
# sender = "dirguard@contoso.com"
# to = ["soc@contoso.com"]
"""
