"""``pamiq-console settings`` and ``set``: a live run's tunable settings.

An agent or trainer declares what an operator may change while it runs
(:mod:`engine.tunables`); ``settings`` lists them, ``set`` changes one from its
owner's next step. A name the run does not have, or a value of the wrong type
or out of bounds, is a usage error (exit 2) said in one line naming the
setting and what it takes; nothing is sent then.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from engine.services.operations import describe
from engine.tunables import TunableError, format_value, no_such_setting, parse_described

from .apps import app
from .common import JsonOpt, fail, print_json
from .control_commands import LiveConfigOpt, LiveRunOpt, live_run, request
from .exit_codes import ExitCode


@app.command("settings")
def settings_cmd(
    run: LiveRunOpt = None, config: LiveConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """List a live run's tunable settings: name, type, value, bounds."""
    info = live_run(run, config)
    result: list[dict[str, Any]] = request(info, "settings")
    if as_json:
        print_json(result)
        return
    if not result:
        print(
            f"run {info.name} has no tunable settings (its agent and trainers "
            "declare no tunables())"
        )
        return
    headers = ("NAME", "TYPE", "VALUE", "TAKES", "CONFIGURED", "WHAT IT CHANGES")
    rows = [_row(s) for s in result]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)]
        print("  ".join([*cells, line[-1]]).rstrip())


def _row(setting: dict[str, Any]) -> tuple[str, ...]:
    value = format_value(setting["value"])
    if setting.get("pending") is not None:
        value += f" (-> {format_value(setting['pending'])} at the next step)"
    configured = (
        ""
        if setting["configured"] == setting["value"]
        else format_value(setting["configured"])
    )
    return (
        str(setting["name"]),
        str(setting["type"]),
        value,
        str(setting.get("bounds") or "-"),
        configured,
        str(setting.get("description") or ""),
    )


@app.command("set", context_settings={"ignore_unknown_options": True})
def set_cmd(
    name: Annotated[
        str,
        typer.Argument(
            help="The setting, e.g. trainers.dqn.lr or agent.epsilon "
            "(pamiq-console settings lists them).",
            metavar="NAME",
            show_default=False,
        ),
    ],
    value: Annotated[
        str,
        typer.Argument(
            help="Its new value (a number, an integer, or true/false).",
            metavar="VALUE",
            show_default=False,
        ),
    ],
    run: LiveRunOpt = None,
    config: LiveConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a live run's setting from its owner's next step (trainer run or agent step)."""
    info = live_run(run, config)
    settings: list[dict[str, Any]] = request(info, "settings")
    described = next((s for s in settings if s.get("name") == name), None)
    try:
        if described is None:
            raise TunableError(no_such_setting(name, [s["name"] for s in settings]))
        parse_described(described, value)
    except TunableError as e:
        raise fail(f"set failed: {e}", ExitCode.USAGE) from None
    result = request(info, "set", name=name, value=value)
    if as_json:
        print_json(result)
        return
    for line in describe("set", result, info.name):
        print(line)
