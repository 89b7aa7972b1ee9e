"""Generated passwords meet AD's complexity rules and never contain the account name."""

from __future__ import annotations

import string

import pytest

from dirguard.providers.ad.passwords import SYMBOLS, complex_password


def test_every_class_is_present_and_the_account_name_never_is() -> None:
    passwords = {complex_password(12, avoid="ab") for _ in range(200)}
    assert len(passwords) == 200, "random"
    for password in passwords:
        assert len(password) == 12
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS):
            assert any(c in group for c in password), password
        assert "ab" not in password.lower()


def test_a_short_length_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12"):
        complex_password(11)
