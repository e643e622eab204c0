"""Large unions of evidence ids kept (by the identity of the lists they were made of) while the logs
they were made of grow between evaluations: always the union made afresh."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st
from opseval_shared import base
from opseval_shared.base import IdLog, IdRuns, Ids, merge_ids


@contextmanager
def kept_from(size: int) -> Iterator[None]:
    """Unions kept from `size` ids (the examples are small), and none kept from before."""
    saved = base._KEPT_FROM, base._KEPT.copy()
    base._KEPT_FROM = size
    base._KEPT.clear()
    try:
        yield
    finally:
        base._KEPT_FROM = saved[0]
        base._KEPT.clear()
        base._KEPT.update(saved[1])


def fresh(runs: list[list[str]]) -> tuple[str, ...]:
    return tuple(sorted(set().union(*runs)))


# Five logs, each of its own prefix as plans' logs are (laid end to end), and now and then an id of
# another's prefix (interleaved with it). Numbers from a small range: ids repeat and land among others.
PREFIXES = ("ins-a-", "ins-b-", "ins-c-", "sv-", "zz-")
an_id = st.tuples(st.integers(0, 60), st.integers(0, 30))  # number, and another log's prefix when 0


def id_of(log: int, number: int, other: int) -> str:
    return f"{PREFIXES[(log + 1) % 5 if other == 0 else log]}{number:03d}"


# One change: ids appended to some of the logs, then unions of some of them asked for (an evaluation).
change = st.tuples(
    st.lists(st.tuples(st.integers(0, 4), an_id), max_size=10),
    st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=5), min_size=1, max_size=4),
)


@given(first=st.lists(st.lists(an_id, max_size=20), min_size=5, max_size=5), changes=st.lists(change, max_size=8))
def test_unions_asked_for_across_changes_are_the_unions_made_afresh(
    first: list[list[tuple[int, int]]], changes: list[tuple[list[tuple[int, tuple[int, int]]], list[list[int]]]]
) -> None:
    with kept_from(0):
        logs = [IdLog(id_of(n, *i) for i in ids) for n, ids in enumerate(first)]
        made: list[tuple[list[Ids], Ids]] = []
        for appended, asked in changes:
            for n, i in appended:
                logs[n].append(id_of(n, *i))
            for which in asked:
                runs = [logs[n].sorted_ids() for n in which]
                union = merge_ids(runs)
                assert type(union) in (Ids, IdRuns) and union == fresh([list(r) for r in runs])
                made.append((runs, union))
        # The unions asked for before: still what they were.
        for runs, union in made:
            assert merge_ids(runs) == union == fresh([list(r) for r in runs])


def test_interleaved_logs_are_merged_by_the_sort_and_kept() -> None:
    with kept_from(0):
        odd = IdLog(f"x-{n:04d}" for n in range(1, 200, 2))
        even = IdLog(f"x-{n:04d}" for n in range(0, 200, 2))
        union = merge_ids([odd.sorted_ids(), even.sorted_ids()])
        assert union == tuple(f"x-{n:04d}" for n in range(200))
        assert merge_ids([even.sorted_ids(), odd.sorted_ids()]) is union
        even.append("x-0200")
        assert merge_ids([odd.sorted_ids(), even.sorted_ids()]) == tuple(f"x-{n:04d}" for n in range(201))


@contextmanager
def united_from(lists: int) -> Iterator[None]:
    """IdUnions that take in `lists` or more lists (the examples are small) rather than merge them."""
    saved = base._UNITED_FROM_LISTS
    base._UNITED_FROM_LISTS = lists - 1
    try:
        yield
    finally:
        base._UNITED_FROM_LISTS = saved


# A measure's blocks as evaluations see them: each evaluation keeps some of the last one's lists (the
# same objects) and brings new ones; lists share ids (two records citing one event) or hold none.
a_list = st.lists(st.integers(0, 400), max_size=30).map(lambda ns: Ids(sorted({f"e{n:04d}" for n in ns})))
evaluation = st.tuples(st.lists(st.integers(0, 40), max_size=40), st.lists(a_list, max_size=6))


@given(first=st.lists(a_list, max_size=40), evaluations=st.lists(evaluation, max_size=8), few=st.integers(0, 20))
def test_a_union_brought_up_to_date_list_by_list_is_the_union_made_afresh(
    first: list[Ids], evaluations: list[tuple[list[int], list[Ids]]], few: int
) -> None:
    union = base.IdUnion()
    with united_from(few):
        lists = first
        assert tuple(union.of(lists)) == fresh([list(ids) for ids in lists])
        for kept_ones, new in evaluations:
            lists = [lists[k] for k in kept_ones if k < len(lists)] + new
            made = union.of(lists)
            assert tuple(made) == fresh([list(ids) for ids in lists])
            assert type(made) in (Ids, IdRuns) and len(made) == len(set(made))


def test_a_union_of_the_same_lists_is_the_same_object_and_unchanged_runs_stay_the_same() -> None:
    lists = [Ids(f"e{n:05d}" for n in range(k, 20_000, 40)) for k in range(40)]  # interleaved, 500 ids each
    union = base.IdUnion()
    before = union.of(lists)
    assert union.of(list(lists)) is before
    replaced = Ids(sorted({*lists[7][:-1], "e19999x"}))  # its last id gone, one after every other id
    after = union.of([*lists[:7], replaced, *lists[8:]])
    assert tuple(after) == fresh([list(ids) for ids in (*lists[:7], replaced, *lists[8:])])
    assert isinstance(before, IdRuns) and isinstance(after, IdRuns)
    # Only the last runs changed: the others are the very `Ids` of the union before (the store
    # encodes them as it did).
    assert sum(a is b for a, b in zip(before.runs, after.runs, strict=False)) >= len(before.runs) - 2
