"""The Administrator tests' small organisation on the session's DC (``org``), for the rules."""

from tests.admin.conftest import org

__all__ = ["org"]
