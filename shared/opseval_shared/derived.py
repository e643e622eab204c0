"""Facts derived from single folded records, kept with the ledger between evaluations.

The services keep a project's ledger folded between changes and evaluate it again after each batch.
Much of what an evaluation derives belongs to one record of the ledger at a time — a fault's minutes
inside its SLA window, a person's first clock-in of a day against the working hours, the due period a
submitted document answers — and stays the same until that record changes. A table here keeps such
facts with the inputs they were derived from, and a fact is reused only when those are the same
objects (never merely equal ones):

* the record: the fold replaces a record (a newer event for a ticket, an earlier clock-in of a day)
  with a new object; a correction or a retraction of a folded event takes it out again
  (`Ledger.unfold`), putting a new object in place of a record it changes, or makes the ledger
  stale, and it is folded again into a new ledger, with empty tables;
* the table's inputs, given when it is asked for: the calendar's answers (`WorkCalendar.answers`),
  the contract's terms, and for facts measured up to it the as-of moment (`Ledger.move_to` moves it).

Tables are keyed as the ledger keys its records, so a replaced record's entry is overwritten and
memory stays in proportion to the ledger. Nothing here is written to the fold state (fold_state.py):
a restored ledger starts with empty tables.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import chain
from operator import is_
from typing import Any, TypeVar

T = TypeVar("T")
V = TypeVar("V")

Inputs = tuple[object, ...]


class Derived:
    """The tables of one ledger (`Ledger.derived`)."""

    __slots__ = ("_tables", "_values")

    def __init__(self) -> None:
        self._tables: dict[Hashable, tuple[Inputs, dict[Any, Any]]] = {}
        self._values: dict[Hashable, Any] = {}

    def table(self, name: Hashable, inputs: Inputs) -> dict[Any, Any]:
        """The table `name`, emptied first when it was filled under other inputs."""
        kept = self._tables.get(name)
        if kept is None or not same(kept[0], inputs):
            kept = self._tables[name] = (inputs, {})
        return kept[1]

    def value(self, name: Hashable, inputs: Inputs, derive: Callable[..., T], *args: Any) -> T:
        """One fact (the periods a deliverable fell due in by the as-of moment …), kept until its
        inputs change: one object while they stay the same, so what is derived from it can be kept too."""
        return kept(self._values, name, inputs, derive, *args)


def same(a: Inputs, b: Inputs) -> bool:
    """The same objects. Never equal ones: equal values may be written differently (2 and 2.0, one
    moment in two offsets), and what is derived from them with them."""
    return len(a) == len(b) and all(map(is_, a, b))


def kept(table: dict[Any, Any], key: Hashable, inputs: Inputs, derive: Callable[..., T], *args: Any) -> T:
    """The fact of `key` derived from `inputs`: the one kept when it was derived from the same, else
    `derive(*args)`, kept in place of the one before (entries hold their inputs, so an object compared
    by identity is never another that took its place in memory)."""
    hit = table.get(key)
    if hit is not None:
        kept_inputs = hit[0]  # (`same`, inline: this runs once per record and evaluation)
        if len(kept_inputs) == len(inputs) and all(map(is_, kept_inputs, inputs)):
            return hit[1]  # type: ignore[no-any-return]
    value = derive(*args)
    table[key] = (inputs, value)
    return value


def kept_by_entry(
    table: dict[Any, Any], name: Hashable, entries: Mapping[Any, V], derive: Callable[[Any, V], T], *, by_key: bool
) -> dict[Any, T]:
    """`derive(key, value)` of every entry of one of the ledger's dicts (ticket → record …), as a dict
    in the entries' order, or the keys' (`by_key`), kept whole in `table` between evaluations: derived
    again only for entries whose value is another object since (the fold puts a new record in place of
    one it replaces) and for new keys. Keys gone or moved since (a retraction) derive everything again.
    Costs a step in C per entry, where deriving each entry again cost a call, however cheap, per
    entry and evaluation: 9,000 faults a change at a million events. (`table`: a derived table, emptied
    when the inputs `derive` reads besides the entry differ.)"""
    keys, values = tuple(entries), tuple(entries.values())
    last = table.get(name)
    if last is None or keys[: len(last[0])] != last[0]:
        pairs = sorted(entries.items(), key=_key) if by_key else entries.items()
        out = {k: derive(k, v) for k, v in pairs}
    else:
        old_keys, old_values, out = last
        out = dict(out)  # (the last evaluation's answer stays what it was)
        for k, was, now in zip(old_keys, old_values, values, strict=False):  # (the old keys: a prefix)
            if was is not now:
                out[k] = derive(k, now)
        new = keys[len(old_keys) :]
        if new:
            if by_key and out and min(new) < next(reversed(out)):  # (not all after the others: ordered afresh)
                out.update((k, derive(k, entries[k])) for k in new)
                out = dict(sorted(out.items(), key=_key))
            else:
                for k in sorted(new) if by_key else new:
                    out[k] = derive(k, entries[k])
    table[name] = (keys, values, out)
    return out


def _key(item: tuple[Any, Any]) -> Any:
    return item[0]


def in_blocks(
    table: dict[Any, Any], name: Hashable, items: Sequence[Any], size: int, *, parts: bool = False
) -> list[Sequence[Any]]:
    """`items` (records, or with `parts` sequences of records laid end to end) in blocks of `size`
    items, each block the very object the last call gave for it while its items are the same objects,
    so what is derived from a block can be kept by its identity (a measure's count and evidence of
    the records of one block, measures.py). Costs a comparison by identity per item, in C. A source
    whose items keep their places (the ledger's dicts keep their keys' order; the fold replaces a
    record in its place) changes only the blocks of the records a change brought."""
    last = table.get(name) or ()
    out: list[Sequence[Any]] = []
    made: list[tuple[Sequence[Any], Sequence[Any]]] = []
    for k, at in enumerate(range(0, len(items), size)):
        piece = items[at : at + size]
        if k < len(last):
            was, block = last[k]
            if len(was) == len(piece) and all(map(is_, was, piece)):
                out.append(block)
                made.append((was, block))
                continue
        block = list(chain.from_iterable(piece)) if parts else piece
        out.append(block)
        made.append((piece, block))
    table[name] = made
    return out
