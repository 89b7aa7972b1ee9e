"""What every request of one app shares: the runtime, the ``[web]`` settings, the session and
token stores. Held in ``app.state.web``; :func:`web_context` fetches it for a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import HTTPConnection

from dirguard.config.schema import WebConfig
from dirguard.config.secret_store import SecretStore
from dirguard.services.console.accounts import LocalAccounts
from dirguard.services.console.api_tokens import ApiTokens
from dirguard.services.console.entra_sign_in import EntraSignIn
from dirguard.services.console.rate_limit import RateLimit
from dirguard.services.console.roles import Principal
from dirguard.services.console.sessions import ConsoleSessions, SessionPolicy
from dirguard.services.runtime import Runtime, resolve_secret


@dataclass(frozen=True, kw_only=True)
class WebContext:
    runtime: Runtime
    """Acting as ``dirguard``; per request use :func:`acting_runtime`."""
    settings: WebConfig
    sessions: ConsoleSessions
    tokens: ApiTokens
    accounts: LocalAccounts
    entra: EntraSignIn | None
    """Entra ID sign-in (``[web.oidc]``); ``None`` when not configured."""
    secure_cookies: bool
    """Cookies carry ``Secure`` (the app is served over HTTPS)."""

    @classmethod
    def build(cls, runtime: Runtime, settings: WebConfig, *, secure_cookies: bool) -> WebContext:
        policy = SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )
        entra = None
        if settings.oidc is not None:
            entra = EntraSignIn(
                config=settings.oidc,
                client_secret=resolve_secret(
                    runtime.config, "web.oidc", "client_secret", settings.oidc.client_secret
                ),
                sessions=runtime.sessions,
                clock=runtime.clock,
            )
        return cls(
            entra=entra,
            runtime=runtime,
            settings=settings,
            sessions=ConsoleSessions(runtime.sessions, runtime.clock, policy),
            tokens=ApiTokens(runtime.sessions, runtime.clock),
            accounts=LocalAccounts(
                runtime.sessions,
                runtime.clock,
                SecretStore(runtime.config.secrets.key_file, runtime.config.secrets.store_file),
                RateLimit(
                    attempts=settings.login_attempts,
                    window=timedelta(minutes=settings.login_window_minutes),
                ),
            ),
            secure_cookies=secure_cookies,
        )


def web_context(connection: HTTPConnection) -> WebContext:
    context = connection.app.state.web
    assert isinstance(context, WebContext)
    return context


def acting_runtime(connection: HTTPConnection, principal: Principal) -> Runtime:
    """The runtime working for the person behind this request (what services record)."""
    return web_context(connection).runtime.acting_as(principal.name)
