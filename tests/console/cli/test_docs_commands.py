"""Every command and flag README.md and docs/console.md show exists, as shown."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.console.helpers import ROOT

runner = CliRunner()
COMMANDS = {
    "run",
    "validate",
    "status",
    "pause",
    "resume",
    "save",
    "shutdown",
    "load",
    "events",
    "settings",
    "set",
    "attach",
    "states list",
    "states show",
    "states verify",
    "states prune",
}


def documented() -> dict[str, set[str]]:
    """Command -> the flags the docs give it, from every `pamiq-console ...` usage."""
    found: dict[str, set[str]] = {}
    for doc in ("README.md", "docs/console.md"):
        text = (ROOT / doc).read_text(encoding="utf-8").replace("\\|", "|")
        for line in text.splitlines():
            for usage in re.findall(r"pamiq-console ([a-z][^`]*)", line):
                words = usage.split()
                if words[0] == "states":
                    # "states list [--verify] | show STATE | ...": each its own flags.
                    for segment in " ".join(words[1:]).split(" | "):
                        sub = segment.split()[0]
                        if f"states {sub}" in COMMANDS:
                            found.setdefault(f"states {sub}", set()).update(
                                re.findall(r"--[a-z][a-z-]*", segment)
                            )
                    continue
                # "status | pause | resume ... [--run ...]": the flags are each one's.
                names = [words[0], *re.findall(r"\| ([a-z]+)", usage)]
                flags = set(re.findall(r"--[a-z][a-z-]*", usage))
                for name in names:
                    if name in COMMANDS:
                        found.setdefault(name, set()).update(flags)
    return found


def test_the_docs_show_every_command() -> None:
    assert set(documented()) == COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_documented_flag_is_accepted(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    for flag in documented().get(command, set()):
        assert re.search(rf"{flag}\b", result.output), f"{command} --help has no {flag}"
