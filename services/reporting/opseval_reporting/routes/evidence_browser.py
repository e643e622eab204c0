"""The evidence browser (佐证材料): a project's evidence as labelled tables by kind — all of it, or all
behind one leaf or one finding — paged and filtered, exported as XLSX; one event in Chinese with its
corrections; the staff promised beside the roster (人员对照); and the events set aside or
dead-lettered, with the reasons."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal
from opseval_infra.projects import today_in_china
from opseval_infra.store.base import EventFilter, StoredEvent
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import EvidenceKind, parse_evidence_json
from opseval_shared.evidence_columns import (
    KIND_LABEL,
    TermNames,
    cn_date,
    describe,
    export_columns,
    kind_of,
    table_columns,
    term_names,
)
from opseval_shared.ledger import fold_all
from opseval_shared.messaging import evidence_subject
from opseval_shared.metrics import MetricContext
from opseval_shared.staffing_comparison import staffing_comparison

from ..context import PAGE, Offset, ReportingContext, json_response
from ..evidence_table import evidence_workbook
from .evidence import _leaf

ROWS_PER_PAGE = 500
EXPORT_MAX = 100_000  # rows in one workbook; narrow the filters for more
DEAD_LETTERS_READ = 1000
SERVICE_LABEL = {"intake": "接收服务", "rules": "规则服务", "scoring": "评分服务", "reporting": "报告服务"}
KINDS = {k.value for k in EvidenceKind}
ACTION_LABEL = {"superseded": "更正", "retracted": "撤回"}

Day = Annotated[date | None, Query(description="YYYY-MM-DD, inclusive: the event's own calendar date")]
Text = Annotated[str | None, Query(max_length=200, description="a text the event contains (id, name, ticket …)")]


def _selects(row: StoredEvent, event: dict[str, Any], where: EventFilter) -> bool:
    """The store's filter, for events read by id (a leaf's or a finding's)."""
    day = str(event.get("occurred_at", ""))[:10]
    return (
        (where.kind is None or row.kind == where.kind)
        and (where.occurred_from is None or day >= where.occurred_from)
        and (where.occurred_until is None or day <= where.occurred_until)
        and (not where.contains or where.contains in row.body)
    )


def _states(corrections: list[dict[str, Any]], set_aside: list[dict[str, Any]]) -> dict[str, str]:
    """Each corrected, retracted, correcting or set-aside event's state, in Chinese."""
    states: dict[str, str] = {}
    for c in corrections:
        retracted = c["action"] == "retracted"
        if c["in_force"]:
            states[c["event"]] = "已撤回" if retracted else "已更正"
            states[c["corrected_by"]] = "撤回记录" if retracted else "更正记录"
        else:
            states.setdefault(c["corrected_by"], "已被再次更正")
    for d in set_aside:
        states[d["event"]] = "已搁置"
    return states


def _fields(kind: EvidenceKind, event: dict[str, Any], names: TermNames) -> list[dict[str, Any]]:
    """The event's fields a correction may change (its payload and when it happened), each with its
    label, how it is written and its value as sent: the workbench's 更正 form."""
    out = []
    for column in export_columns(kind):  # occurred_at once, under the kind's label
        if column.key != "occurred_at" and not column.key.startswith("payload."):
            continue
        choices: dict[str, str] = dict(column.labels)
        if column.render == "flag":
            choices = {"true": column.flag[0], "false": column.flag[1]}
        elif column.render == "term":  # the definition's slugs by name (the value as sent, if unknown)
            choices = {slug: f"{name}（{slug}）" for slug, name in names.get(column.term, {}).items()}
        out.append(
            {
                "key": column.key,
                "label": column.label,
                "render": column.render,
                "choices": choices,
                "value": column.value(event),
            }
        )
    return out


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader = ctx.access, ctx.reader

    async def scope_ids(project: str, leaf: str | None, finding: str | None) -> tuple[list[str] | None, dict[str, Any]]:
        """The ids behind a leaf or a finding (None: the whole project), and what the scope is."""
        if leaf and finding:
            raise HTTPException(422, "give leaf or finding, not both")
        if leaf:
            scores, lists = await ctx.scores_apart(project)
            node = _leaf(scores.indicators, leaf)
            if node is None:
                raise HTTPException(404, f"no indicator {leaf!r} in project {project!r}")
            return list(lists.resolved(node.evidence or ())), {"leaf": node.id, "name": node.name}
        if finding:
            current, kept = await ctx.findings_apart(project)
            found = next((f for f in current.findings if f.id == finding), None)
            if found is None:
                raise HTTPException(404, f"no finding {finding!r} in project {project!r}")
            return list(kept.resolved(found.evidence)), {"finding": found.id, "name": found.message}
        return None, {}

    async def scoped_rows(project: str, ids: list[str]) -> list[tuple[StoredEvent, dict[str, Any]]]:
        rows = await ctx.store().get_events(project, ids)
        return sorted(((r, orjson.loads(r.body)) for r in rows), key=lambda pair: pair[0].seq)

    def filter_of(kind: str | None, since: date | None, until: date | None, q: str | None) -> EventFilter:
        if since and until and until < since:
            raise HTTPException(422, f"until {until} is before from {since}")
        return EventFilter(
            kind=kind,
            occurred_from=since.isoformat() if since else None,
            occurred_until=until.isoformat() if until else None,
            contains=q or None,
        )

    def parse_kind(kind: str | None) -> EvidenceKind | None:
        if kind is None:
            return None
        try:
            return kind_of(kind)
        except ValueError as exc:
            raise HTTPException(422, f"kind: {exc}") from None

    async def kind_counts(project: str, scoped: list[tuple[StoredEvent, dict[str, Any]]] | None) -> dict[str, int]:
        if scoped is not None:
            return dict(Counter(row.kind for row, _ in scoped))
        store = ctx.store()
        counts = await asyncio.gather(
            *(store.count_browsed_events(project, EventFilter(kind=k.value)) for k in EvidenceKind)
        )
        return {k.value: n for k, n in zip(EvidenceKind, counts, strict=True) if n}

    async def names_of(project: str) -> TermNames:
        return term_names(await ctx.definition(project))

    @routes.get("/v1/projects/{project}/evidence-table", name="evidence.browse", responses=ERROR_RESPONSES)
    async def evidence_table(
        project: str,
        kind: str | None = None,
        since: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, inclusive")] = None,
        until: Day = None,
        q: Text = None,
        leaf: str | None = None,
        finding: str | None = None,
        offset: Offset = 0,
        limit: Annotated[int, Query(ge=1, le=ROWS_PER_PAGE)] = 50,
        principal: Principal = reader,
    ) -> Response:
        """A page of the project's evidence of one kind as a labelled table (Chinese headers, cells as
        evaluators write them), filtered by the event's date (`from`, `until`) and a text (`q`);
        with `leaf` or `finding`, of the evidence behind that leaf's score or that finding only.
        `kinds` counts each kind in the scope (unfiltered); without `kind`, the scope's largest."""
        access.project(principal, project)
        names = await names_of(project)
        ids, scope = await scope_ids(project, leaf, finding)
        scoped = None if ids is None else await scoped_rows(project, ids)
        counts = await kind_counts(project, scoped)
        chosen = parse_kind(kind) or (
            EvidenceKind(max(counts, key=lambda k: (counts[k], k))) if counts else EvidenceKind.CLOCK_IN
        )
        where = filter_of(chosen.value, since, until, q)
        if scoped is None:
            store = ctx.store()
            total = await store.count_browsed_events(project, where)
            page = [
                (r, orjson.loads(r.body)) for r in await store.browse_events(project, where, offset=offset, limit=limit)
            ]
        else:
            matching = [(r, e) for r, e in scoped if _selects(r, e, where)]
            total, page = len(matching), matching[offset : offset + limit]
        evaluation, corrections = await ctx.status(project)
        states = _states(corrections, evaluation["set_aside"])
        columns = table_columns(chosen)
        return json_response(
            {
                "scope": scope,
                "kinds": [
                    {"kind": k.value, "label": KIND_LABEL[k], "count": counts[k.value]}
                    for k in EvidenceKind
                    if k.value in counts
                ],
                "kind": chosen.value,
                "label": KIND_LABEL[chosen],
                "columns": [{"key": c.key, "label": c.label, "numeric": c.numeric} for c in columns],
                "total": total,
                "offset": offset,
                "limit": limit,
                "rows": [
                    {"id": row.id, "cells": [c.cell(event, names) for c in columns], "state": states.get(row.id)}
                    for row, event in page
                ],
            }
        )

    @routes.get("/v1/projects/{project}/evidence-table.xlsx", name="evidence.export", responses=ERROR_RESPONSES)
    async def evidence_export(
        project: str,
        kind: str,
        since: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, inclusive")] = None,
        until: Day = None,
        q: Text = None,
        leaf: str | None = None,
        finding: str | None = None,
        principal: Principal = reader,
    ) -> Response:
        """The filtered table of one kind (as `evidence-table` selects it, every page) as an XLSX
        workbook with Chinese headers, every field of the kind and each event's 更正/撤回 state."""
        access.project(principal, project)
        chosen = parse_kind(kind)
        assert chosen is not None
        definition = await ctx.definition(project)
        names = term_names(definition)
        ids, scope = await scope_ids(project, leaf, finding)
        where = filter_of(chosen.value, since, until, q)
        events: list[dict[str, Any]] = []
        if ids is None:
            store = ctx.store()
            total = await store.count_browsed_events(project, where)
            if total > EXPORT_MAX:
                raise HTTPException(
                    413, f"{total} events match; at most {EXPORT_MAX} in one export: narrow the filters"
                )
            while len(events) < total:
                batch = await store.browse_events(project, where, offset=len(events), limit=PAGE)
                if not batch:
                    break
                events.extend(orjson.loads(r.body) for r in batch)
        else:
            events = [e for r, e in await scoped_rows(project, ids) if _selects(r, e, where)]
        evaluation, corrections = await ctx.status(project)
        states = _states(corrections, evaluation["set_aside"])
        filters = [
            f"{scope.get('name')}的佐证" if scope else "",
            f"自 {cn_date(since.isoformat())}" if since else "",
            f"至 {cn_date(until.isoformat())}" if until else "",
            f"含“{q}”" if q else "",
        ]
        caption = f"{definition.project.name} · {KIND_LABEL[chosen]}（{len(events)} 条）" + " ".join(
            f for f in filters if f
        )
        body = await asyncio.to_thread(
            evidence_workbook, KIND_LABEL[chosen], caption, export_columns(chosen), events, states, names
        )
        return Response(
            body,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"content-disposition": f'attachment; filename="{project}-{chosen.value}.xlsx"'},
        )

    @routes.get("/v1/projects/{project}/evidence-detail/{event_id}", name="evidence.detail", responses=ERROR_RESPONSES)
    async def evidence_detail(project: str, event_id: str, principal: Principal = reader) -> Response:
        """One event in Chinese (`lines`: label and text of each field), the event as sent, the
        corrections and retractions that name it or that it makes, and why it is set aside if it is."""
        access.project(principal, project)
        rows = await ctx.store().get_events(project, [event_id])
        if not rows:
            raise HTTPException(404, f"no event {event_id!r} in project {project!r}")
        event = orjson.loads(rows[0].body)
        names = await names_of(project)
        evaluation, corrections = await ctx.status(project)
        trail = [
            {**c, "action_label": ACTION_LABEL[c["action"]]}
            for c in corrections
            if event_id in (c["event"], c["corrected_by"])
        ]
        aside = next((d for d in evaluation["set_aside"] if d["event"] == event_id), None)
        kind = kind_of(rows[0].kind)
        return json_response(
            {
                "event": event,
                "kind_label": KIND_LABEL[kind],
                "lines": describe(event, names),
                "fields": _fields(kind, event, names),
                "corrections": trail,
                "state": _states(corrections, evaluation["set_aside"]).get(event_id),
                "set_aside": {"field": aside["field"], "reason": aside["reason"]} if aside else None,
            }
        )

    @routes.get("/v1/projects/{project}/staffing", name="staffing.read", responses=ERROR_RESPONSES)
    async def staffing(project: str, as_of: date | None = None, principal: Principal = reader) -> Response:
        """Per contract, the staff the bid promised (投标文件拟投入人员) and the roles the tender
        requires, beside the on-site roster evidence and each person's attendance as of a date
        (default: today, or the end of the period): workdays with a clock-in, coverage, late
        arrivals and early leaves where the contract sets a working day."""
        access.project(principal, project)
        definition = await ctx.definition(project)
        rows = await ctx.stored_events(project)

        def compute() -> dict[str, Any]:
            day = as_of or min(today_in_china(), definition.project.evaluation.default_as_of)
            ledger, _ = fold_all(definition, day, lambda: (parse_evidence_json(row.body) for row in rows))
            contracts = staffing_comparison(MetricContext(ledger, WorkCalendar(ctx.fleet.calendar)))
            return {"as_of": day.isoformat(), "contracts": [c.model_dump(mode="json") for c in contracts]}

        return json_response(await asyncio.to_thread(compute))

    @routes.get("/v1/projects/{project}/set-aside", name="evidence.set_aside.read", responses=ERROR_RESPONSES)
    async def set_aside(project: str, principal: Principal = reader) -> Response:
        """The project's events left out of its evaluation (`set_aside`: a reference no longer
        resolves) and its messages the fleet dead-lettered (`dead_letters`, newest first, of the
        latest 1000 of the fleet; the letters that recorded set-aside events are left out, those
        events being listed while they are set aside), each with the reason."""
        access.project(principal, project)
        await ctx.definition(project)
        evaluation, _ = await ctx.status(project)
        aside = evaluation["set_aside"]
        known = {r.id: r.kind for r in await ctx.store().get_events(project, [d["event"] for d in aside])}
        subject = evidence_subject(project, "")
        letters = []
        for letter in await ctx.store().list_dead_letters(limit=DEAD_LETTERS_READ):
            body = orjson.loads(letter.body)
            topic = str(body.get("subject", ""))
            # This project's own subjects only (a project "a.b" is not "a"); an event set aside
            # is listed above while it is, not again as the letter that recorded it.
            if not topic.startswith(subject) or "." in topic[len(subject) :] or ":unresolved:" in letter.id:
                continue
            try:
                sent = orjson.loads(body.get("payload") or "null")
            except orjson.JSONDecodeError:
                sent = None
            sent = sent if isinstance(sent, dict) else {}
            kind = sent.get("kind")
            letters.append(
                {
                    "id": letter.id,
                    "service": letter.service,
                    "service_label": SERVICE_LABEL.get(letter.service, letter.service),
                    "at": body.get("at"),
                    "deliveries": body.get("deliveries"),
                    "error": body.get("error"),
                    "event": sent.get("id"),
                    "kind": kind,
                    "kind_label": KIND_LABEL[EvidenceKind(kind)] if isinstance(kind, str) and kind in KINDS else None,
                }
            )
        return json_response(
            {
                "set_aside": [
                    {
                        **d,
                        "kind": known.get(d["event"]),
                        "kind_label": KIND_LABEL[EvidenceKind(known[d["event"]])] if d["event"] in known else None,
                    }
                    for d in aside
                ],
                "dead_letters": letters,
            }
        )

    return routes
