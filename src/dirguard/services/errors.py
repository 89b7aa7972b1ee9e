"""What can go wrong in a use case, said once for every front end.

A service raises a :class:`ServiceError` whose :class:`Problem` says what kind of failure it is;
the CLI turns the kind into an exit code (``cli/exit_codes.py``) and the HTTP API into a status
(problem+json). Messages name what is wrong and how to fix it, and never contain a secret.
"""

from __future__ import annotations

from enum import StrEnum


class Problem(StrEnum):
    FAILURE = "failure"
    """Something failed at run time (exit 1, HTTP 500/409)."""
    NOT_FOUND = "not-found"
    """The object, plan or connection named does not exist (exit 1, HTTP 404)."""
    CONFLICT = "conflict"
    """The request contradicts the current state, e.g. a plan already applied (exit 1, HTTP 409)."""
    PERMISSION = "permission"
    """Missing rights or partial consent: a critical error (exit 2, HTTP 403)."""
    CONFIG = "config"
    """Invalid configuration or credential reference (exit 3, HTTP 500)."""
    UNAVAILABLE = "unavailable"
    """A needed service (directory, database, tenant) could not be reached (exit 4, HTTP 503)."""


class ServiceError(Exception):
    """A use case could not do what was asked; ``problem`` says why in one word."""

    def __init__(self, message: str, problem: Problem = Problem.FAILURE) -> None:
        super().__init__(message)
        self.problem = problem

    @property
    def message(self) -> str:
        return str(self)
