"""Placeholder until this command module lands."""

import typer


def register(app: typer.Typer) -> None:
    del app
