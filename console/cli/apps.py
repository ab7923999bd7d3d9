"""The Typer applications every command group registers on."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="pamiq-console",
    help="Run, watch and control continual-learning systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
states_app = typer.Typer(
    help="Inspect and prune saved states (offline).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(states_app, name="states")


def _version(show: bool) -> None:
    if show:
        # Imported only here: it reads the installed packages' metadata.
        from importlib.metadata import version

        print(f"pamiq-console {version('pamiq-console')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Run, watch and control continual-learning systems."""
