"""The result table: rows, target checks, and text / Markdown / JSON output."""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS = "pass"
MISS = "MISS"
NA = "n/a"

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Target:
    """A goal for one row.

    Attributes:
        op: One of ``>=``, ``>``, ``<=``, ``<``.
        value: The bound, in the row's unit (or a plain factor when ``on`` is "ratio").
        on: "ours" checks our value, "ratio" checks ours / reference.
    """

    op: str
    value: float
    on: str = "ours"

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown comparison {self.op!r}")
        if self.on not in ("ours", "ratio"):
            raise ValueError(f"a target applies to 'ours' or 'ratio', not {self.on!r}")

    def check(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (None when there is nothing to check)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return _OPS[self.op](value, self.value)

    def describe(self, unit: str) -> str:
        """Human text, e.g. ``>= 300,000 steps/s`` or ``>= 0.5x ref``."""
        if self.on == "ratio":
            return f"{self.op} {_number(self.value)}x ref"
        return f"{self.op} {_number(self.value)} {unit}".rstrip()


@dataclass
class Row:
    """One line of the table.

    Attributes:
        figure: Figure id ("1", "2a", ...).
        metric: What is measured.
        unit: Unit of ``ours`` and ``reference``.
        ours: Our value (None: not measured).
        reference: The reference value measured in the same run (None: none).
        reference_name: What the reference is (PAMIQ-Core 0.6.0, plain I/O...).
        target: The goal, if the row has one.
        note: Why a value is missing, or a remark.
        lower_is_better: For the ratio column's reading only.
    """

    figure: str
    metric: str
    unit: str
    ours: float | None = None
    reference: float | None = None
    reference_name: str = ""
    target: Target | None = None
    note: str = ""
    lower_is_better: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """``ours / reference`` when both exist and the reference is non-zero."""
        if self.ours is None or self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    @property
    def status(self) -> str:
        """``pass``, ``MISS`` or ``n/a``."""
        if self.target is None:
            return NA
        value = self.ratio if self.target.on == "ratio" else self.ours
        ok = self.target.check(value)
        if ok is None:
            return NA
        return PASS if ok else MISS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (numbers raw, plus the formatted target and status)."""
        data = asdict(self)
        data["target"] = (
            None
            if self.target is None
            else {
                **asdict(self.target),
                "text": self.target.describe(self.unit),
            }
        )
        data["ratio"] = self.ratio
        data["status"] = self.status
        return data


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2g}"


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit, or a dash."""
    if value is None:
        return "-"
    text = _number(value)
    if unit == "%":
        return f"{text} %"
    return f"{text} {unit}".rstrip()


def format_ratio(ratio: float | None) -> str:
    """A ratio as ``1.23x``, or a dash."""
    return "-" if ratio is None else f"{_number(ratio)}x"


HEADERS = ("Fig", "Metric", "Ours", "Reference", "Ref value", "Ratio", "Target", "")


def _cells(row: Row) -> list[str]:
    ours = format_value(row.ours, row.unit)
    if row.ours is None and row.note:
        ours = row.note
    reference = format_value(row.reference, row.unit)
    if row.reference is None and row.reference_name and row.ours is not None:
        reference = "not measured"
    status = row.status
    marker = {PASS: "pass", MISS: "MISS", NA: ""}[status]
    return [
        row.figure,
        row.metric,
        ours,
        row.reference_name,
        reference,
        format_ratio(row.ratio),
        row.target.describe(row.unit) if row.target else "",
        marker,
    ]


def render_text(rows: Sequence[Row]) -> str:
    """A fixed-width table for the terminal."""
    table = [list(HEADERS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = []
    for n, line in enumerate(table):
        lines.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: Sequence[Row]) -> str:
    """A GitHub-flavoured Markdown table."""

    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    header = "| " + " | ".join(h or "Status" for h in HEADERS) + " |"
    rule = "|" + "|".join("---" for _ in HEADERS) + "|"
    body = ["| " + " | ".join(esc(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join([header, rule, *body])


def notes_of(rows: Sequence[Row]) -> list[str]:
    """Remarks attached to rows that do have a value."""
    return [
        f"{r.figure} {r.metric}: {r.note}"
        for r in rows
        if r.note and r.ours is not None
    ]


def results_document(rows: Sequence[Row], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document written per run."""
    return {"meta": meta, "rows": [r.to_json() for r in rows]}


def write_results(
    rows: Sequence[Row], meta: dict[str, Any], results_dir: Path, stamp: str
) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``<stamp>.json`` under ``results_dir``; return both paths."""
    results_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results_document(rows, meta), indent=1, default=str) + "\n"
    latest = results_dir / "latest.json"
    stamped = results_dir / f"{stamp}.json"
    for path in (stamped, latest):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return latest, stamped


def load_rows(document: dict[str, Any]) -> list[Row]:
    """Rebuild rows from a document written by :func:`write_results`."""
    rows = []
    for data in document["rows"]:
        target = data.get("target")
        rows.append(
            Row(
                figure=data["figure"],
                metric=data["metric"],
                unit=data["unit"],
                ours=data.get("ours"),
                reference=data.get("reference"),
                reference_name=data.get("reference_name", ""),
                target=None
                if target is None
                else Target(target["op"], target["value"], target.get("on", "ours")),
                note=data.get("note", ""),
                lower_is_better=data.get("lower_is_better", False),
                details=data.get("details", {}),
            )
        )
    return rows
