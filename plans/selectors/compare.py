"""What changed between two snapshots of a plan (the compare page): every section, field and
row, texts word by word. A pure function of two snapshot dicts; see
:mod:`plans.selectors.sections` for the sections and how values are shown.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Literal

from django.utils.functional import Promise

from plans.selectors.sections import Column, Row, Snapshot, section_specs, snapshot_years

SegmentKind = Literal["", "delete", "insert"]
RowState = Literal["added", "removed", "changed", "unchanged"]

# Words, runs of white space and single punctuation marks: the units a text diff marks.
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    """A run of text: in both (``change`` empty), only before (delete) or only after (insert).

    ``gap`` marks an insertion right after a deletion, which a page sets apart from it.
    """

    text: str
    change: SegmentKind = ""
    gap: bool = field(default=False, compare=False)


def word_diff(before: str, after: str) -> list[Segment]:
    """The two texts as one sequence of unchanged, deleted and inserted runs, word by word."""
    if before == after:
        return [Segment(before)] if before else []
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    segments: list[Segment] = []

    def add(text: str, change: SegmentKind) -> None:
        if not text:
            return
        if segments and segments[-1].change == change:
            segments[-1] = replace(segments[-1], text=segments[-1].text + text)
        else:
            gap = change == "insert" and bool(segments) and segments[-1].change == "delete"
            segments.append(Segment(text, change, gap))

    # A change is kept as one deleted and one inserted run, across the mere spaces that two
    # rewritten sentences share: "a b" → "c d" reads as a replacement, not as four changes.
    deleted, inserted = "", ""
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        text = "".join(old[i1:i2])
        if op != "equal":
            deleted += text
            inserted += "".join(new[j1:j2])
        elif (deleted or inserted) and not text.strip() and index + 1 < len(opcodes):
            deleted += text
            inserted += text
        else:
            add(deleted, "delete")
            add(inserted, "insert")
            deleted, inserted = "", ""
            add(text, "")
    add(deleted, "delete")
    add(inserted, "insert")
    return segments


@dataclass(frozen=True)
class FieldChange:
    label: str | Promise
    before: str
    after: str
    text: bool
    segments: list[Segment]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def before_segments(self) -> list[Segment]:
        """The left side: what stayed and what was deleted."""
        return [s for s in self.segments if s.change != "insert"]

    @property
    def after_segments(self) -> list[Segment]:
        """The right side: what stayed and what was inserted."""
        return [replace(s, gap=False) for s in self.segments if s.change != "delete"]


@dataclass(frozen=True)
class CellChange:
    before: str
    after: str
    segments: list[Segment]
    column: Column

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class RowChange:
    state: RowState
    cells: list[CellChange]


@dataclass(frozen=True)
class SectionChange:
    key: str
    title: str | Promise
    fields: list[FieldChange]
    columns: tuple[Column, ...]
    rows: list[RowChange]

    @property
    def is_list(self) -> bool:
        return bool(self.columns)

    @property
    def changes(self) -> int:
        """Changed fields plus added, removed and changed rows."""
        return sum(f.changed for f in self.fields) + sum(r.state != "unchanged" for r in self.rows)


@dataclass(frozen=True)
class Comparison:
    sections: list[SectionChange]

    @property
    def changes(self) -> int:
        return sum(section.changes for section in self.sections)


def _paired_rows(
    before: list[Row], after: list[Row], identity: Callable[[Row], Hashable]
) -> list[tuple[Row | None, Row | None]]:
    """Rows of both lists paired by identity (the n-th of equal identities with the n-th), in
    the order of ``after``; a removed row follows the row that preceded it in ``before``."""

    def keyed(rows: list[Row]) -> list[tuple[tuple[Hashable, int], Row]]:
        seen: Counter = Counter()
        result = []
        for row in rows:
            key = identity(row)
            result.append(((key, seen[key]), row))
            seen[key] += 1
        return result

    old, new = keyed(before), keyed(after)
    old_rows = dict(old)
    new_keys = {key for key, _row in new}
    pairs: list[tuple[tuple[Hashable, int], tuple[Row | None, Row | None]]] = [
        (key, (old_rows.get(key), row)) for key, row in new
    ]
    anchor = None
    for key, row in old:
        if key not in new_keys:
            at = next(i for i, (k, _pair) in enumerate(pairs) if k == anchor) + 1 if anchor else 0
            pairs.insert(at, (key, (row, None)))
        anchor = key
    return [pair for _key, pair in pairs]


def _row_change(columns: tuple[Column, ...], before: Row | None, after: Row | None) -> RowChange:
    cells = []
    for column in columns:
        old = column.value(before) if before is not None else ""
        new = column.value(after) if after is not None else ""
        cells.append(CellChange(old, new, word_diff(old, new), column))
    if before is None:
        state: RowState = "added"
    elif after is None:
        state = "removed"
    else:
        state = "changed" if any(cell.changed for cell in cells) else "unchanged"
    return RowChange(state, cells)


def snapshot_compare(before: Snapshot, after: Snapshot) -> Comparison:
    """Every section, field and row of two snapshots compared: texts word by word, lists row
    by row (added, removed, changed with the changed cells, unchanged)."""
    sections = []
    for spec in section_specs(snapshot_years(before, after)):
        fields = []
        for value in spec.fields:
            old, new = value.value(before), value.value(after)
            fields.append(FieldChange(value.label, old, new, value.text, word_diff(old, new)))
        rows = []
        if spec.rows is not None and spec.identity is not None:
            rows = [
                _row_change(spec.columns, old_row, new_row)
                for old_row, new_row in _paired_rows(
                    spec.rows(before), spec.rows(after), spec.identity
                )
            ]
        sections.append(SectionChange(spec.key, spec.title, fields, spec.columns, rows))
    return Comparison(sections)
