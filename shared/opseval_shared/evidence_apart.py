"""A result or the findings as the store keeps them: the evidence ids apart from the model.

At a million events a result cites 2.6 million evidence ids (three leaves the same 578,549), and as
JSON they are nine tenths of its 82 MB: pydantic encoding them was most of what scoring wrote per
change, and decoding them most of what a read paid, also a read that wanted one leaf or only counts.
Kept apart, the body is

    MAGIC, "<skeleton length> <index length>\\n", skeleton, index, lists

where the skeleton is the model's JSON with each long id list (of findings, leaves and the
measurements shipped with the findings) replaced by a reference, ("@k",) (an event id cannot begin
with '@'), the index the byte span and count of list k as JSON, and the lists their ids one per line
(an event id holds no line break). A list cited twice is written once.
`joined` gives back the model equal to the one kept, to the bytes of its JSON; `Apart` reads the
skeleton and, of the lists, only those asked for. A body without MAGIC is the model's JSON, as every
body was before: it is read as such."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from threading import Lock
from typing import TypeVar

import orjson

from .base import Ids
from .messaging import FindingsChanged
from .results import EvaluationResult, Finding, ScoredIndicator
from .values import Measurement

MAGIC = b"\x00opseval evidence apart 1\n"  # a JSON body never begins with NUL
INLINE_BELOW = 64  # ids: a shorter list stays in the skeleton (a delivered document cites one event)
_REFERENCE = "@"

Kept = TypeVar("Kept", EvaluationResult, FindingsChanged)
IdList = tuple[str, ...]


def apart(model: Kept) -> bytes:
    """The body to keep: the model with its long evidence lists apart (see the module)."""
    return b"".join(apart_parts(model))


def apart_parts(model: Kept) -> tuple[bytes, ...]:
    """`apart`'s body as the parts it is the concatenation of, not joined: the lists' parts are
    those kept from the last dumps (`_KeptLists`), and a store compresses the parts as they are."""
    skeleton, lists = referenced(model)
    chunks: list[bytes] = []
    spans: list[tuple[int, int, int]] = []
    at = 0
    for ids in lists:
        chunks.append(_KEPT_LISTS.encoded(ids))
        spans.append((at, at + len(chunks[-1]), len(ids)))
        at += len(chunks[-1])
    skeleton_json, index = skeleton.json_bytes(), orjson.dumps(spans)
    return (MAGIC, b"%d %d\n" % (len(skeleton_json), len(index)), skeleton_json, index, *chunks)


class _KeptLists:
    """The long lists the last dumps wrote and reads read, with their encoded ids, by the identity of
    the list (a tuple: immutable; kept alive here, so no other list takes its identity).

    A growing project's evaluations hand the same list objects again for what did not change (a
    log's sorted ids, a union kept by `merge_ids`), and the findings and the result cite many of the
    same: at a million events 40-70 % of a result's 2 million ids and all of the findings' half a
    million, each of which costs a cache miss to encode again. A read of a body gives back the list
    kept for the same bytes (compared whole), so the scoring service, which reads the rules'
    findings and writes them again in its result, neither decodes nor encodes them anew, and a page
    through one leaf's evidence decodes it once. Bounded by the memory it holds, the least recently
    used dropped: the encoded bytes and the tuple, and for a list it decoded, its strings too."""

    def __init__(self, at_most: int) -> None:
        self.at_most = at_most
        self.size = 0  # bytes held (see `_keep`)
        self._by_identity: OrderedDict[int, tuple[IdList, bytes, int]] = OrderedDict()
        self._by_length: dict[int, set[int]] = {}  # encoded length → identities
        self._lock = Lock()

    def lists(self) -> list[IdList]:
        """The lists kept, least recently used first."""
        return [ids for ids, _, _ in self._by_identity.values()]

    def encoded(self, ids: IdList) -> bytes:
        key = id(ids)
        with self._lock:
            kept = self._by_identity.get(key)
            if kept is not None:
                self._by_identity.move_to_end(key)
                return kept[1]
        # (No event id holds a line break: `Apart.ids` checks. `tuple`: str.join copies a tuple's
        # subclass, such as Ids, into a list first, which is slower than this copy.)
        data = "\n".join(tuple(ids)).encode("utf-8")
        self._keep(ids, data, decoded=False)
        return data

    def decoded(self, data: memoryview, count: int) -> Ids:
        with self._lock:
            for key in self._by_length.get(len(data), ()):
                ids, kept, _ = self._by_identity[key]
                # (`startswith` of the same length: a memcmp, where bytes == memoryview goes byte by byte)
                if len(ids) == count and kept.startswith(data):
                    self._by_identity.move_to_end(key)
                    return Ids(ids) if type(ids) is not Ids else ids
        ids = Ids(str(data, "utf-8").split("\n"))
        if len(ids) == count:  # (else the caller refuses the body)
            self._keep(ids, bytes(data), decoded=True)
        return ids

    def _keep(self, ids: IdList, data: bytes, decoded: bool) -> None:
        if len(ids) < _KEPT_FROM:  # a shorter list costs little to encode or decode again
            return
        key = id(ids)
        # The bytes and the tuple's references; a decoded list's strings are its own (≈ 49 bytes of
        # object and the characters each), where an encoded one's are the ledger's anyway.
        held = len(data) + 8 * len(ids) + ((49 - 1) * len(ids) + len(data) if decoded else 0)
        with self._lock:
            if key in self._by_identity:
                return
            self._by_identity[key] = (ids, data, held)
            self._by_length.setdefault(len(data), set()).add(key)
            self.size += held
            while self.size > self.at_most:
                dropped, (_, old, old_held) = self._by_identity.popitem(last=False)
                self._by_length[len(old)].discard(dropped)
                if not self._by_length[len(old)]:
                    del self._by_length[len(old)]
                self.size -= old_held


_KEPT_FROM = 4096  # ids
# (A million-event project's result and findings: about 80 MB, as encoded by rules or scoring.)
_KEPT_LISTS = _KeptLists(at_most=128 * 2**20)


def referenced(model: Kept) -> tuple[Kept, list[IdList]]:
    """The model with each long evidence list replaced by a reference to it, ("@k",), and the lists:
    each distinct one once, k its place."""
    lists = _Lists()
    update: dict[str, object] = {"findings": tuple(_finding(f, lists.reference) for f in model.findings)}
    if isinstance(model, EvaluationResult):
        update["indicators"] = _tree(model.indicators, lists.reference)
    elif model.measurements:
        update["measurements"] = {ref: _measurement_referenced(m, lists) for ref, m in model.measurements.items()}
    return model.model_copy(update=update), lists.distinct


def joined(body: bytes, cls: type[Kept]) -> Kept:
    """The model kept in `body` (made by `apart`, or plain JSON), its evidence lists in place."""
    return Apart(body).joined(cls)


class Apart:
    """A kept body, read lazily: the skeleton at once, a list when it is asked for. A body without
    MAGIC (plain JSON, as bodies were kept before) is its own skeleton and refers to no list."""

    def __init__(self, body: bytes) -> None:
        self._read: dict[int, Ids] = {}
        if not body.startswith(MAGIC):
            self.skeleton, self._spans, self._lists = body, [], memoryview(b"")
            return
        head_end = body.index(b"\n", len(MAGIC))
        skeleton_length, index_length = map(int, body[len(MAGIC) : head_end].split())
        start = head_end + 1
        self.skeleton = body[start : start + skeleton_length]
        self._spans = orjson.loads(body[start + skeleton_length : start + skeleton_length + index_length])
        self._lists = memoryview(body)[start + skeleton_length + index_length :]

    def model(self, cls: type[Kept]) -> Kept:
        """The model with its long evidence lists as references (see `resolved` and `count`)."""
        return cls.model_validate_json(self.skeleton)

    def joined(self, cls: type[Kept]) -> Kept:
        model = self.model(cls)
        if not self._spans:
            return model
        update: dict[str, object] = {"findings": tuple(_finding(f, self.resolved) for f in model.findings)}
        if isinstance(model, EvaluationResult):
            update["indicators"] = self.tree(model.indicators)
        elif model.measurements:
            update["measurements"] = {ref: self.measurement(m) for ref, m in model.measurements.items()}
        return model.model_copy(update=update)

    def measurement(self, measurement: Measurement) -> Measurement:
        """A skeleton's measurement with its evidence list in place."""
        evidence = self.resolved(measurement.evidence)
        return measurement if evidence is measurement.evidence else replace(measurement, evidence=evidence)

    def tree(
        self, indicators: tuple[ScoredIndicator, ...], where: Callable[[ScoredIndicator], bool] | None = None
    ) -> tuple[ScoredIndicator, ...]:
        """A skeleton's indicators with every list in place, or the lists of those `where` selects."""
        return _tree(indicators, self.resolved, where)

    def resolved(self, evidence: IdList) -> IdList:
        """A skeleton's evidence with its reference, if it is one, replaced by the list."""
        k = reference(evidence)
        return evidence if k is None else self.ids(k)

    def count(self, evidence: IdList) -> int:
        """How many ids a skeleton's evidence stands for, without reading them."""
        k = reference(evidence)
        return len(evidence) if k is None else self._spans[k][2]

    def ids(self, k: int) -> Ids:
        kept = self._read.get(k)
        if kept is None:
            start, end, count = self._spans[k]
            kept = _KEPT_LISTS.decoded(self._lists[start:end], count)
            if len(kept) != count:
                raise ValueError(f"evidence list {k} holds {len(kept)} ids, its index says {count}")
            self._read[k] = kept
        return kept


def reference(evidence: Sequence[str] | None) -> int | None:
    """The list a skeleton's evidence refers to, or None for ids kept in place."""
    if evidence is not None and len(evidence) == 1 and evidence[0].startswith(_REFERENCE):
        return int(evidence[0][1:])
    return None


class _Lists:
    """The long lists of a model, each distinct one once."""

    def __init__(self) -> None:
        self.distinct: list[IdList] = []
        self._by_identity: dict[int, tuple[IdList, str]] = {}
        self._by_shape: dict[tuple[int, str, str], list[tuple[IdList, str]]] = {}

    def reference(self, evidence: IdList) -> IdList:
        if len(evidence) < INLINE_BELOW:
            return evidence
        known = self._by_identity.get(id(evidence))
        if known is not None:
            return (known[1],)
        # Equal lists are often distinct tuples (two measures over one log): compared only when they
        # have the same length and ends, and equal ones hold the same strings, compared by identity.
        same_shape = self._by_shape.setdefault((len(evidence), evidence[0], evidence[-1]), [])
        for other, ref in same_shape:
            if other == evidence:
                self._by_identity[id(evidence)] = (evidence, ref)  # (kept alive: no other takes its id)
                return (ref,)
        ref = f"{_REFERENCE}{len(self.distinct)}"
        self.distinct.append(evidence)
        self._by_identity[id(evidence)] = (evidence, ref)
        same_shape.append((evidence, ref))
        return (ref,)


def _measurement_referenced(measurement: Measurement, lists: _Lists) -> Measurement:
    """A measurement with its evidence, if long, replaced by a reference: only `Ids` (known sorted and
    distinct), as a list is read back as one; another list stays in place and reads back as the tuple
    it was, so that whatever orders a measurement's evidence still does."""
    if type(measurement.evidence) is not Ids:
        return measurement
    evidence = lists.reference(measurement.evidence)
    return measurement if evidence is measurement.evidence else replace(measurement, evidence=evidence)


def _finding(finding: Finding, mapped: Callable[[IdList], IdList]) -> Finding:
    evidence = mapped(finding.evidence)
    return finding if evidence is finding.evidence else finding.model_copy(update={"evidence": evidence})


def _tree(
    nodes: tuple[ScoredIndicator, ...],
    mapped: Callable[[IdList], IdList],
    where: Callable[[ScoredIndicator], bool] | None = None,
) -> tuple[ScoredIndicator, ...]:
    """The indicators with each one's evidence mapped (of those `where` selects, if given); a node
    nothing changed in is kept as it is."""
    out = []
    for node in nodes:
        update: dict[str, object] = {}
        children = _tree(node.children, mapped, where) if node.children else node.children
        if children is not node.children:
            update["children"] = children
        if node.evidence is not None and (where is None or where(node)):
            evidence = mapped(node.evidence)
            if evidence is not node.evidence:
                update["evidence"] = evidence
        out.append(node.model_copy(update=update) if update else node)
    if all(new is old for new, old in zip(out, nodes, strict=True)):
        return nodes
    return tuple(out)
