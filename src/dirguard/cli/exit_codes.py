"""Exit codes of the ``dirguard`` command, documented in ``dirguard --help`` and the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    """Something failed at run time (the message says what)."""
    CRITICAL = 2
    """Missing permissions / partial consent (and, from the parser, bad command-line usage)."""
    CONFIG_INVALID = 3
    """The configuration file or environment overrides are invalid."""
    UNAVAILABLE = 4
    """A needed service (directory, database, tenant) could not be reached."""
