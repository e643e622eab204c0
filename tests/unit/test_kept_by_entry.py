"""What is derived per entry of one of the ledger's dicts, kept whole between evaluations
(derived.kept_by_entry), is what deriving every entry afresh gives, in the entries' or the keys'
order, and is derived again only for the entries whose value changed and the new ones."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_shared.derived import kept_by_entry


class Value:
    """A record: each fold makes a new object, equal or not."""

    def __init__(self, n: int) -> None:
        self.n = n


def derived(key: str, value: Value) -> tuple[str, int]:
    return key, value.n * 2


def _counted(calls: list[str]) -> Any:
    def derive(key: str, value: Value) -> tuple[str, int]:
        calls.append(key)
        return derived(key, value)

    return derive


# A change: ("put", key, n) folds a new value in (a new key goes last), ("drop", key) takes one out.
changes = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcdefgh"), st.integers(0, 9)),
        st.tuples(st.just("drop"), st.sampled_from("abcdefgh")),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(changes, min_size=1, max_size=6), by_key=st.booleans())
def test_entries_kept_whole_are_those_derived_afresh_and_only_the_changed_are_derived_again(
    batches: list[list[tuple[Any, ...]]], by_key: bool
) -> None:
    entries: dict[str, Value] = {}
    table: dict[Any, Any] = {}
    for batch in batches:
        changed: set[str] = set()
        before = dict(entries)
        for change in batch:
            if change[0] == "put":
                entries[change[1]] = Value(change[2])
                changed.add(change[1])
            elif change[1] in entries:
                del entries[change[1]]
        calls: list[str] = []
        out = kept_by_entry(table, "x", entries, _counted(calls), by_key=by_key)
        fresh = {k: derived(k, v) for k, v in (sorted(entries.items()) if by_key else entries.items())}
        assert list(out.items()) == list(fresh.items())
        # Nothing but a change derives an entry again, unless a key went or moved (all afresh then).
        kept_keys = list(before)
        if list(entries)[: len(kept_keys)] == kept_keys:
            assert sorted(calls) == sorted(k for k in entries if k in changed)
