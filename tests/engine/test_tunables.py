"""Tunable declarations and values: what a setting takes, and the one-line refusals."""

from __future__ import annotations

import pytest

from engine.tunables import (
    Tunable,
    TunableError,
    format_value,
    no_such_setting,
    parse_described,
    tunables_of,
)


class Owner:
    def __init__(self) -> None:
        self.rate = 0.5
        self.count = 3
        self.flag = True


def rate(owner: Owner) -> Tunable:
    return Tunable.attribute(owner, "rate", float, 0.0, 10.0, exclusive_minimum=True)


def test_text_and_json_values_are_read_as_the_setting_s_type() -> None:
    owner = Owner()
    assert rate(owner).parse("1e-4", "t.rate") == 1e-4
    assert rate(owner).parse(3, "t.rate") == 3.0
    count = Tunable.attribute(owner, "count", int, 1)
    assert count.parse("1_000", "t.count") == 1000
    assert count.parse(7, "t.count") == 7
    flag = Tunable.attribute(owner, "flag", bool)
    assert flag.parse("off", "t.flag") is False
    assert flag.parse("TRUE", "t.flag") is True
    assert flag.parse(False, "t.flag") is False


@pytest.mark.parametrize(
    ("kind", "low", "high", "value", "message"),
    [
        (float, 0.0, 10.0, "20", "t.x takes a number in (0, 10], not 20"),
        (float, 0.0, 10.0, "0", "t.x takes a number in (0, 10], not 0"),
        (float, 0.0, 10.0, "nan", "t.x takes a number in (0, 10], not nan"),
        (float, 0.0, 10.0, "fast", "t.x takes a number in (0, 10], not fast"),
        (float, 0.0, 10.0, True, "t.x takes a number in (0, 10], not True"),
        (int, 1, None, "2.5", "t.x takes an integer >= 1, not 2.5"),
        (int, 1, None, 0, "t.x takes an integer >= 1, not 0"),
        (int, None, 5, 6, "t.x takes an integer <= 5, not 6"),
        (bool, None, None, "maybe", "t.x takes true or false, not maybe"),
        (bool, None, None, 1, "t.x takes true or false, not 1"),
    ],
)
def test_a_value_it_does_not_take_is_one_line_naming_the_setting_and_its_bounds(
    kind: type, low: float | None, high: float | None, value: object, message: str
) -> None:
    tunable = Tunable(kind, Owner, print, low, high, exclusive_minimum=kind is float)
    with pytest.raises(TunableError) as e:
        tunable.parse(value, "t.x")
    assert str(e.value) == message


def test_a_client_checks_a_listed_setting_with_the_run_s_words() -> None:
    listed = {"name": "t.rate", "type": "float", "min": 0.0, "max": 10.0}
    listed["exclusive_min"] = True
    assert parse_described(listed, "2") == 2.0
    with pytest.raises(
        TunableError, match=r"^t.rate takes a number in \(0, 10\], not 0$"
    ):
        parse_described(listed, "0")


def test_an_unknown_name_suggests_the_nearest_or_lists_them() -> None:
    names = ["trainers.dqn.lr", "agent.epsilon_end"]
    assert no_such_setting("trainers.dqn.lrr", names) == (
        "no setting 'trainers.dqn.lrr' (did you mean trainers.dqn.lr?)"
    )
    assert no_such_setting("zzz", names) == (
        "no setting 'zzz' (settings: trainers.dqn.lr, agent.epsilon_end)"
    )
    assert "has none" in no_such_setting("x", [])


@pytest.mark.parametrize(
    ("tunable", "problem"),
    [
        (Tunable(str, Owner, print), "type str is not float, int or bool"),
        (Tunable(bool, Owner, print, 0, 1), "a bool setting has no bounds"),
        (Tunable(int, Owner, print, 5, 1), "minimum 5 is above maximum 1"),
        (Tunable(float, Owner, print, float("nan")), "bound nan is not a number"),
    ],
)
def test_a_declaration_the_console_could_not_offer_is_refused(
    tunable: Tunable, problem: str
) -> None:
    with pytest.raises(TunableError) as e:
        tunable.check_declaration("agent.x")
    assert str(e.value) == f"setting agent.x: {problem}"


def test_tunables_of_checks_what_a_component_returns() -> None:
    class NoSettings:
        pass

    class Dotted:
        def tunables(self) -> dict[str, Tunable]:
            return {"a.b": rate(Owner())}

    class NotADict:
        def tunables(self) -> list[int]:
            return [1]

    assert tunables_of(NoSettings()) == {}
    with pytest.raises(TunableError, match="'a.b' is not a setting name"):
        tunables_of(Dotted())
    with pytest.raises(TunableError, match="must return a dict"):
        tunables_of(NotADict())


def test_values_are_written_as_an_operator_types_them() -> None:
    assert format_value(True) == "true"
    assert format_value(0.0005) == "0.0005"
    assert format_value(1e-05) == "1e-05"
    assert format_value(32) == "32"
