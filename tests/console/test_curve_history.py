"""Curves go on across resume and load (issue 22 item 5): a real run saves, is
resumed, and its curve still holds the earlier points, with the resume marked."""

from __future__ import annotations

from pathlib import Path

from console import config as config_mod
from engine.services.curves import LOAD, Curve, CurveView, Mark
from engine.services.operations import local_run
from engine.telemetry.events import Event, StateLoaded
from tests.console.helpers import bandit_config, wait_until

LOSS = ("values", "loss")


def test_a_resumed_run_s_curves_hold_the_run_so_far_and_mark_the_resume(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.toml"
    path.write_text(bandit_config(tmp_path) + "\n[dashboard]\nplot_history = 16\n")
    first = config_mod.load(path).system
    first.start()
    try:
        assert first.services is not None
        book = first.services.curves
        # Enough reports that pairs of points have merged.
        wait_until(lambda: (c := book.curve(LOSS)) is not None and c.count >= 40)
    finally:
        first.shutdown("test over")
        assert first.wait(timeout=30)
    before = book.curve(LOSS)  # all of it: the final save came after the last report
    assert before is not None and before.stride > 1
    final = (
        Path(first.store.states_dir)
        / sorted(p.name for p in Path(first.store.states_dir).glob("*.state"))[-1]
    )

    resumed = config_mod.load(path, overrides={"resume": True}).system
    assert resumed.services is not None
    book = resumed.services.curves
    at_resume: list[Curve | None] = []

    def loaded(event: Event) -> None:
        # Published on the starting thread before the agent and trainer start.
        if isinstance(event, StateLoaded):
            at_resume.append(book.curve(LOSS))

    resumed.events.add_callback(loaded)
    watch = local_run(resumed).watch(maxsize=1000)
    view = CurveView()
    resumed.start()
    try:
        # The curve as it was, marked where it was resumed.
        [curve] = at_resume
        assert curve is not None
        assert (curve.points, curve.stride, curve.count) == (
            before.points,
            before.stride,
            before.count,
        )
        mark = Mark(before.count, LOAD, f"resumed from {final.name}")
        assert curve.marks == [mark]
        # A view sees it too, with the mark, whatever came since.
        view.apply(watch.poll([LOSS]).curves)
        assert view.curves[LOSS].marks == [mark]
        assert view.curves[LOSS].count >= before.count
        # Then it goes on from there: more reports, at later steps.
        wait_until(
            lambda: (
                view.apply(watch.poll([LOSS]).curves)
                and view.curves[LOSS].count > before.count + 5
            )
        )
        steps, earlier = view.curves[LOSS].steps(), before.steps()
        assert steps is not None and earlier is not None
        assert steps[0] == earlier[0] and steps[1] > earlier[1]
    finally:
        resumed.shutdown("test over")
        assert resumed.wait(timeout=30)
