"""A result and the findings kept with their evidence ids apart (opseval_shared.evidence_apart) read
back to the same model and the same JSON bytes; a list cited twice is kept once; a reader of one
list or of counts reads only that; plain JSON bodies, as kept before, are still read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_infra.store.frames import FRAME_FROM, compress_parts, frame_contents
from opseval_reporting.output import findings_document, render_files, scores_document, to_json
from opseval_shared import evidence_apart
from opseval_shared.base import IdLog, IdRuns, Ids
from opseval_shared.evidence_apart import INLINE_BELOW, MAGIC, Apart, _KeptLists, apart, joined, reference, referenced
from opseval_shared.messaging import FindingsChanged
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, Finding, ScoredIndicator

from opseval.embedded import evaluate_bundle
from opseval.synth import write_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").is_file())


def encoded(kept: _KeptLists, listed: Ids) -> bytes:
    """A list's body as `kept` writes it (the parts joined)."""
    return b"".join(kept.encoded_parts(listed))


def whole(body: bytes) -> list[tuple[bytes, int, int]]:
    """A list's bytes as the one piece of a body they are (a body read as one frame, as before 2026-12-04)."""
    return [(body, 0, len(body))]


def through_frames(parts: list[bytes]) -> list[tuple[bytes, int, int]]:
    """A list's parts as a store writes them (a frame per long part, kept by the part's identity)
    and a reader reads them back (each frame's content, kept by the frame's bytes): the pieces
    `Apart` hands `decoded`."""
    contents = frame_contents(compress_parts(parts))
    return [(part, 0, len(part)) for part in contents]


def ids(prefix: str, n: int) -> Ids:
    return Ids(f"{prefix}-{i:06d}" for i in range(n))


def leaf(lid: str, evidence: tuple[str, ...] | None) -> ScoredIndicator:
    one = Decimal(1)
    return ScoredIndicator(id=lid, name=lid, weight=one, score=one, rate=one, evidence=evidence)


def finding(fid: str, evidence: tuple[str, ...]) -> Finding:
    return Finding(id=fid, rule="r", severity="low", message="m", measured="1", required="0", evidence=evidence)


def result(leaves: list[ScoredIndicator], findings: list[Finding]) -> EvaluationResult:
    one = Decimal(1)
    top = ScoredIndicator(id="top", name="top", weight=one, score=one, rate=one, children=tuple(leaves))
    return EvaluationResult(
        project="p", name="p", form="f", as_of=date(2024, 3, 31), total=one, grade="优",
        indicators=(top,), findings=tuple(findings),
    )  # fmt: skip


def assert_same(kept: bytes, model: EvaluationResult | FindingsChanged) -> None:
    back = joined(kept, type(model))
    assert back == model
    assert back.json_bytes() == model.json_bytes()


@pytest.mark.parametrize("name", BUNDLES)
def test_an_examples_result_and_findings_read_back_to_the_same_bytes(name: str) -> None:
    evaluated, _ = evaluate_bundle(EXAMPLES / name)
    assert_same(apart(evaluated), evaluated)
    findings = FindingsChanged(project="p", events_folded=1, as_of=evaluated.as_of, findings=evaluated.findings)
    assert_same(apart(findings), findings)


def test_a_synthetic_years_result_keeps_its_long_lists_apart_and_reads_back(tmp_path: Path) -> None:
    write_bundle(tmp_path / "bundle", 4_000, seed=7)
    evaluated, _ = evaluate_bundle(tmp_path / "bundle")
    kept = apart(evaluated)
    assert kept.startswith(MAGIC)
    skeleton = Apart(kept).model(EvaluationResult)
    long_lists = [
        n.evidence for top in evaluated.indicators for n in top.walk() if len(n.evidence or ()) >= INLINE_BELOW
    ]
    assert long_lists, "the 4k bundle's leaves cite long lists"
    referred = [n for top in skeleton.indicators for n in top.walk() if reference(n.evidence) is not None]
    assert len(referred) == len(long_lists)
    assert len(Apart(kept).skeleton) * 5 < len(evaluated.json_bytes())
    assert_same(kept, evaluated)


def test_a_list_cited_by_several_leaves_and_findings_is_kept_once() -> None:
    shared = ids("insp", 500)
    equal_copy = Ids(tuple(shared))  # an equal list that is another tuple
    kept = apart(result([leaf("a", shared), leaf("b", equal_copy)], [finding("f", shared)]))
    assert kept.count(b"insp-000123") == 1  # the second and third citation cost a reference each
    skeleton = Apart(kept).model(EvaluationResult)
    refs = {reference(n.evidence) for n in skeleton.indicators[0].children} | {reference(skeleton.findings[0].evidence)}
    assert refs == {0}


def test_short_lists_and_no_evidence_stay_in_the_skeleton() -> None:
    short = ids("j", INLINE_BELOW - 1)
    model = result([leaf("a", short), leaf("b", None), leaf("c", ())], [finding("f", ())])
    kept = apart(model)
    skeleton = Apart(kept).model(EvaluationResult)
    assert skeleton == model  # nothing referred to
    assert_same(kept, model)


def test_counts_and_one_list_are_read_without_the_other_lists() -> None:
    wanted, other = ids("a", 300), ids("b", 400)
    kept = apart(result([leaf("a", wanted), leaf("b", other)], []))
    reader = Apart(kept)
    a, b = reader.model(EvaluationResult).indicators[0].children
    # The second list's bytes are spoilt: reading the first, and counting the second, does not notice.
    spoilt = Apart(kept.replace(b"b-000200", b"b-00\n200"))  # (as long: the spans still fit)
    assert spoilt.resolved(a.evidence) == wanted
    assert spoilt.count(b.evidence) == 400
    assert reader.count(a.evidence) == 300 and reader.resolved(b.evidence) == other
    with pytest.raises(ValueError, match="holds 401 ids, its index says 400"):
        spoilt.resolved(b.evidence)


def test_a_body_kept_as_plain_json_before_is_read_as_it_is() -> None:
    model = result([leaf("a", ids("a", 300))], [finding("f", ids("f", 100))])
    plain = model.json_bytes()
    assert_same(plain, model)
    reader = Apart(plain)
    assert reader.skeleton == plain
    assert reader.count(model.findings[0].evidence) == 100


event_ids = st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,12}", fullmatch=True), max_size=150, unique=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), event_ids), max_size=6), st.lists(event_ids, max_size=4), st.data())
def test_any_mix_of_lists_reads_back_to_the_same_bytes(
    leaf_lists: list[list[str] | None], finding_lists: list[list[str]], data: st.DataObject
) -> None:
    chosen = [None if ev is None else Ids(sorted(ev)) for ev in leaf_lists]
    if chosen and data.draw(st.booleans()):  # a list cited again, by the same tuple
        chosen.append(next((c for c in chosen if c is not None), None))
    model = result(
        [leaf(f"l{i}", ev) for i, ev in enumerate(chosen)],
        [finding(f"f{i}", Ids(sorted(ev))) for i, ev in enumerate(finding_lists)],
    )
    assert_same(apart(model), model)
    findings = FindingsChanged(project="p", events_folded=3, as_of=model.as_of, findings=model.findings)
    assert_same(apart(findings), findings)


@pytest.mark.parametrize("name", ["dongguan-2022", "service-centre-2024"])
def test_the_json_files_written_from_references_are_those_written_from_the_lists(name: str, tmp_path: Path) -> None:
    evaluated, definition = evaluate_bundle(EXAMPLES / name)
    check_files_as_before(evaluated, definition)


def test_a_synthetic_years_json_files_written_from_references_are_as_before(tmp_path: Path) -> None:
    write_bundle(tmp_path / "bundle", 4_000, seed=7)
    evaluated, definition = evaluate_bundle(tmp_path / "bundle")
    assert referenced(evaluated)[1], "the 4k bundle's result has long lists"
    check_files_as_before(evaluated, definition)


def check_files_as_before(evaluated: EvaluationResult, definition: ProjectDefinition) -> None:
    files = render_files(evaluated, definition, documents=False)
    assert b"".join(files["scores.json"]) == b"".join(to_json(scores_document(evaluated)))
    assert b"".join(files["findings.json"]) == b"".join(to_json(findings_document(evaluated)))


def test_a_tree_can_have_only_the_leaves_asked_for_resolved() -> None:
    wanted, other = ids("a", 300), ids("b", 400)
    model = result([leaf("a", wanted), leaf("b", other)], [])
    reader = Apart(apart(model))
    a, b = reader.tree(reader.model(EvaluationResult).indicators, lambda node: node.id == "a")[0].children
    assert a.evidence == wanted
    assert reference(b.evidence) is not None and reader.count(b.evidence) == 400


def test_a_list_encoded_for_one_dump_is_reused_by_the_next_and_the_bodies_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = _KeptLists(at_most=2**20)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept)
    big = ids("E", 5000)
    first = apart(result([leaf("a", big)], []))
    assert kept.lists() == [big] and kept.lists()[0] is big
    # The next dump cites the same list beside a new one, in a finding too.
    model = result([leaf("a", big), leaf("b", ids("F", 5000))], [finding("f", big)])
    again = apart(model)
    assert_same(again, model)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", _KeptLists(at_most=2**20))
    assert apart(model) == again and apart(result([leaf("a", big)], [])) == first


def test_a_list_read_back_is_the_one_kept_for_the_same_bytes_and_is_then_written_without_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = _KeptLists(at_most=2**20)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept)
    body = apart(
        FindingsChanged(project="p", events_folded=1, as_of=date(2024, 3, 31), findings=(finding("f", ids("E", 5000)),))
    )
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept := _KeptLists(at_most=2**20))  # as another process
    read = joined(body, FindingsChanged).findings[0].evidence
    assert kept.lists() == [read] and read == ids("E", 5000)
    encoded = sum(map(len, kept._by_identity[id(read)].chunks))  # (its ids, one per line, in chunks)
    assert kept.size == 2 * encoded + 56 * 5000  # its strings counted too: 49 bytes of object each, and the characters
    assert joined(body, FindingsChanged).findings[0].evidence is read  # the same bytes: the list kept
    # Other bytes of the same length are another list.
    other = apart(
        FindingsChanged(project="p", events_folded=1, as_of=date(2024, 3, 31), findings=(finding("f", ids("G", 5000)),))
    )
    assert joined(other, FindingsChanged).findings[0].evidence == ids("G", 5000)
    assert len(kept.lists()) == 2
    # A spoilt body is still refused, whatever is kept.
    spoilt = body.replace(b"E-000001\n", b"E-000001,", 1)
    with pytest.raises(ValueError, match="holds 4999 ids"):
        joined(spoilt, FindingsChanged)


def test_the_lists_kept_stay_within_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _KeptLists(at_most=200_000)  # room for two lists of 5,000 ids (50 KB + 40 KB of tuple each)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept)
    lists = [ids(f"L{n}", 5000) for n in range(5)]
    for listed in lists:
        model = result([leaf("a", listed)], [])
        assert_same(apart(model), model)
        assert kept.size <= 200_000
    assert kept.lists() == lists[-2:]  # the least recently used went first
    assert kept.size == sum(sum(map(len, kept._by_identity[id(listed)].chunks)) + 8 * 5000 for listed in lists[-2:])


def test_the_references_of_two_tuples_are_compared_without_reading_their_strings() -> None:
    same = evidence_apart._SAME_ITEMS
    assert same is not None, "CPython: a tuple's references follow its header"
    a = ids("E", 100)
    b = Ids(("x", *a[10:20], "y"))
    assert same(a, 10, b, 1, 10) and same(b, 1, a, 10, 10)
    assert not same(a, 10, b, 0, 10) and not same(a, 11, b, 1, 10)
    equal_not_same = tuple("".join(c for c in s) for s in a[10:20])  # equal strings, other objects
    assert equal_not_same == a[10:20] and not same(a, 10, equal_not_same, 0, 10)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(4400, 9000),  # (kept from 4,096 ids: at most 240 are dropped)
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(-40, 300)), max_size=6),
    scattered=st.integers(0, 50),
    data=st.data(),
)
def test_a_list_that_grew_in_a_few_places_is_encoded_from_the_chunks_it_holds_unchanged(
    size: int, edits: list[tuple[float, int]], scattered: int, data: st.DataObject
) -> None:
    """A growing list's body is its ids one per line, whatever grew or went where; where ids were
    added or dropped in a few places, the chunks of the last dump's list between them are taken as
    they were."""
    kept = _KeptLists(at_most=2**30)
    before = Ids(f"E-{i * 1000:09d}" for i in range(size))
    assert encoded(kept, before) == "\n".join(before).encode()
    after = list(before)
    touched = 0
    for where, change in sorted(edits):
        at = int(where * size) * 1000
        if change >= 0:  # ids added after one id (sequence numbers in between)
            after += [f"E-{at + k + 1:09d}" for k in range(min(change, 999))]
        else:  # ids dropped (a retraction)
            gone = {f"E-{at + 1000 * k:09d}" for k in range(-change)}
            after = [x for x in after if x not in gone]
        touched += 1
    for _ in range(scattered):  # and a few anywhere
        after.append(f"E-{data.draw(st.integers(0, size * 1000)):09d}.")
    grown = Ids(sorted(set(after)))
    body = encoded(kept, grown)
    assert body == "\n".join(grown).encode()
    made = kept._by_identity[id(grown)]
    old_chunks = {id(chunk) for chunk in kept._by_identity[id(before)].chunks}
    taken = sum(1 for chunk in made.chunks if id(chunk) in old_chunks)
    if 2 * (touched + scattered) * evidence_apart._CHUNK < size:
        # each place spoils at most two of the old chunks around it
        assert taken >= len(kept._by_identity[id(before)].chunks) - 2 * (touched + scattered)
    # Read back, the body is a list kept for its bytes (the first, if nothing changed), not decoded.
    read = kept.decoded(whole(body), len(grown))
    assert read == grown and any(read is listed for listed in kept.lists())
    # In another process, which read the first body from the store: the ids of the chunks unchanged
    # are those read.
    reader = _KeptLists(at_most=2**30)
    first = reader.decoded(through_frames(kept.encoded_parts(before)), len(before))
    assert first == before
    again = reader.decoded(through_frames(kept.encoded_parts(grown)), len(grown))
    assert again == grown
    if 2 * (touched + scattered) * evidence_apart._CHUNK < size:
        read_as_before = len({id(x) for x in first} & {id(x) for x in again})
        assert read_as_before >= len(before) - (2 * (touched + scattered) + 1) * 2 * evidence_apart._CHUNK


BEFORE = ids("E", 10_000)
CHUNK_LAST = len(BEFORE) // -(-len(BEFORE) // evidence_apart._CHUNK) - 1  # of the first chunk read


@pytest.mark.parametrize(
    "changed",
    [
        ("A", *BEFORE),  # a first id before all
        (*BEFORE, "Z"),  # a last after all
        BEFORE[1:],  # the first dropped
        BEFORE[:-1],  # the last dropped
        (*BEFORE[:2500], "E-002499x", *BEFORE[2500:]),  # one in the middle
        (*BEFORE[:2500], "E-002500x", *BEFORE[2501:]),  # one replaced: the same length
        (*BEFORE[:8000], ""),  # an empty last line, as a spoilt body may hold: read as it is
        tuple(x + "x" if i == CHUNK_LAST else x for i, x in enumerate(BEFORE)),  # a chunk's last id longer
        BEFORE[: 5 * (CHUNK_LAST + 1)],  # cut after a chunk's last id (from 4,096 ids a list is kept)
        BEFORE[::-1],  # out of order
    ],
    ids=[
        "first-added",
        "last-added",
        "first-dropped",
        "last-dropped",
        "added",
        "replaced",
        "empty-line",
        "longer",
        "cut",
        "reversed",
    ],
)
def test_a_list_read_after_another_is_what_its_bytes_say(changed: tuple[str, ...]) -> None:
    reader = _KeptLists(at_most=2**30)
    reader.decoded(whole("\n".join(BEFORE).encode()), len(BEFORE))
    body = "\n".join(changed).encode()
    assert reader.decoded(whole(body), len(changed)) == changed
    assert reader.decoded(whole(body), len(changed)) == changed  # (the second time: the list kept)


def apart_afresh(model: EvaluationResult, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The body as a process that kept no list writes it."""
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", _KeptLists(at_most=2**30))
    return apart(model)


def test_a_body_of_chunks_taken_from_an_earlier_list_reads_back_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _KeptLists(at_most=2**30)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept)
    first = ids("E", 20_000)
    apart(result([leaf("a", first)], []))
    grown = Ids(sorted((*first, "E-010000a", "E-019999z")))
    model = result([leaf("a", grown)], [finding("f", grown)])
    body = apart(model)
    assert len(kept._by_identity[id(grown)].chunks) > 2  # in chunks, most taken from `first`
    assert_same(body, model)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", _KeptLists(at_most=2**30))  # another process
    assert apart(model) == body
    assert_same(body, model)
    # One id replaced by another in its place: every chunk keeps its length, one its contents not.
    replaced = Ids(x if x != "E-015000" else "E-015000r" for x in grown)
    assert apart(result([leaf("a", replaced)], [])) == apart_afresh(result([leaf("a", replaced)], []), monkeypatch)
    monkeypatch.setattr(evidence_apart, "_KEPT_LISTS", kept)
    # A body of the same length that differs inside one chunk is not the list kept.
    spoilt = body.replace(b"E-015000\n", b"E-015001\n", 1)
    assert joined(spoilt, EvaluationResult).findings[0].evidence != grown


def held_afresh(kept: _KeptLists) -> int:
    """What `kept` holds, counted from what it keeps: each list's references (of a list in runs, each
    run's once), each chunk once."""
    entries = kept._by_identity.values()
    chunks = {id(c): entry.weight(k) for entry in entries for k, c in enumerate(entry.chunks)}
    runs = {id(run): 8 * len(run) for entry in entries if type(entry.ids) is IdRuns for run in entry.ids.runs}
    flat = sum(8 * len(entry.ids) for entry in entries if type(entry.ids) is not IdRuns)
    return flat + sum(runs.values()) + sum(chunks.values())


@pytest.mark.parametrize(
    ("side", "bound"),
    [
        # A version: 160 KB of references; the chunks 180 KB.
        ("written", 3_000_000),
        # The first version: 1.5 MB of chunks, strings and references; each later one shares with the
        # one before all its runs but the one or two the writer wrote anew, and holds those only:
        # about 75 KB (a thousand ids decoded, 49 bytes of object each and their characters).
        ("read", 2_200_000),
    ],
)
def test_a_list_growing_change_by_change_holds_its_chunks_once_and_within_the_bound(side: str, bound: int) -> None:
    kept = _KeptLists(at_most=bound)
    writer = _KeptLists(at_most=2**30)  # (for "read": the other service, which wrote each version)
    growing = list(ids("E", 20_000))
    written: set[int] = set()  # (the chunks the writer wrote before)
    read_before = IdRuns(())
    for change in range(24):
        growing += [f"E-{19_999 + change * 10:06d}{k}" for k in range(10)]  # a batch, all in one place
        listed = Ids(sorted(growing))
        if side == "written":
            assert encoded(kept, listed) == "\n".join(listed).encode()
        else:
            parts = writer.encoded_parts(listed)
            read = kept.decoded(through_frames(parts), len(listed))
            assert type(read) is IdRuns and read == listed
            # Only the runs of the chunks written anew, or too short for a frame of their own, are read
            # anew: the others are the runs read before, taken by their frames' contents.
            anew = sum(1 for p in parts if len(p) > 1 and (id(p) not in written or len(p) < FRAME_FROM))
            runs_read_anew = sum(1 for run in read.runs if not any(run is r for r in read_before.runs))
            assert runs_read_anew <= anew <= 3 or change == 0
            written |= set(map(id, parts))
            read_before = read
        assert kept.size == held_afresh(kept) <= bound
    # Each version shares all but a chunk or two with the last: many are kept, not one or two, and the
    # oldest were let go.
    assert 8 <= len(kept.lists()) < 24


@settings(max_examples=400, deadline=None)
@given(
    first=st.lists(st.integers(0, 400), min_size=16, max_size=120, unique=True),
    cut=st.integers(0, 120),
    dropped=st.sets(st.integers(0, 119), max_size=8),
    added=st.lists(st.integers(0, 4000), max_size=30),
)
def test_with_small_chunks_any_list_after_any_other_encodes_and_reads_as_itself(
    first: list[int], cut: int, dropped: set[int], added: list[int]
) -> None:
    """Chunks of 4 ids and lists kept from 16: whatever the second list keeps of the first (cut
    short, some dropped) and adds to it (ids that may begin with one of its ids: E1, E12), its body
    is its ids and reads back to them, also in a reader that read the first."""
    before = Ids(sorted(f"E{n}" for n in first))
    kept_ids = [x for i, x in enumerate(before[:cut]) if i not in dropped]
    after = Ids(sorted({*kept_ids, *(f"E{n}" for n in added)} or {"E0"}))  # (a list apart has ids)
    writer, reader = _KeptLists(at_most=2**30), _KeptLists(at_most=2**30)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(evidence_apart, "_CHUNK", 4)
        patched.setattr(evidence_apart, "_KEPT_FROM", 16)
        for listed in (before, after):
            body = encoded(writer, listed)
            assert body == "\n".join(listed).encode()
            assert reader.decoded(whole(body), len(listed)) == listed


def test_a_log_in_runs_grown_by_a_batch_is_written_and_read_again_only_in_the_runs_the_batch_fell_in() -> None:
    writer, reader = _KeptLists(at_most=2**30), _KeptLists(at_most=2**30)  # two services
    log = IdLog(f"E-{n:06d}" for n in range(0, 40_000, 2))
    before = log.sorted_ids()
    written = writer._made(before)
    writer._keep(written)
    read = reader.decoded(through_frames(written.parts()), len(before))
    log += ["E-000001"]  # into the first run
    after = log.sorted_ids()
    rewritten = writer._made(after)
    assert b"\n".join(rewritten.chunks) == "\n".join(after).encode()
    # Every run but the first is the one written before, and so is its chunk: taken, not encoded.
    assert [a is b for a, b in zip(rewritten.chunks, written.chunks, strict=True)] == [False] + [True] * 19
    read_again = reader.decoded(through_frames(rewritten.parts()), len(after))
    assert type(read_again) is IdRuns and read_again == after
    # Read, the runs whose chunks are unchanged are those read before, as they were (the last, too
    # short for a frame of its own, shares one with the line break before it: read anew).
    assert [len(chunk) >= FRAME_FROM for chunk in written.chunks] == [True] * 19 + [False]
    assert sum(a is b for a in read_again.runs for b in read.runs) == len(read.runs) - 2


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.tuples(st.integers(0, 200), st.floats(0, 1)), max_size=10))
def test_a_body_read_in_any_parts_after_its_frames_reads_back_the_same(cuts: list[tuple[int, float]]) -> None:
    """Read from the parts a store gives back, a body's lists are runs taken by the parts' identity;
    whatever parts it is handed in besides, some of them those very objects and others cut out of
    them anywhere, inside a line too, it reads back to the same model."""
    shared = ids("E", 6000)
    model = result([leaf("a", shared), leaf("b", ids("F", 5000))], [finding("f", shared)])
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(evidence_apart, "_KEPT_LISTS", _KeptLists(at_most=2**30))  # the writer
        parts = list(evidence_apart.apart_parts(model))
        patched.setattr(evidence_apart, "_KEPT_LISTS", reader := _KeptLists(at_most=2**30))
        contents = [part for part, _, _ in through_frames(parts)]
        first = joined(contents, EvaluationResult)
        assert first == model and first.json_bytes() == model.json_bytes()
        runs = [run for listed in reader.lists() for run in listed.runs]  # type: ignore[union-attr]
        again = joined(contents, EvaluationResult)
        assert again.findings[0].evidence is first.findings[0].evidence  # the same parts: the list kept
        cut = list(contents)
        for which, where in cuts:
            k = which % len(cut)
            at = int(where * len(cut[k]))
            cut[k : k + 1] = [piece for piece in (cut[k][:at], cut[k][at:]) if piece]
        back = joined(cut, EvaluationResult)
        assert back == model and back.json_bytes() == model.json_bytes()
        if not cuts:
            assert all(any(run is r for r in runs) for run in back.findings[0].evidence.runs)  # type: ignore[union-attr]
