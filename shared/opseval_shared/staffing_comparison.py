"""Staffing promised and actual side by side (人员对照): each contract's bid staff list (投标文件拟投入
人员) and required roles next to the on-site roster evidence and each person's attendance figures —
what the staffing findings weigh, laid out for an evaluator to check by eye. Pure: a MetricContext in,
frozen models out."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Literal

from pydantic import Field

from .base import Frozen
from .contract import Contract
from .metrics import MetricContext
from .schedule import service_workdays

Match = Literal["matched", "role_differs", "not_on_site", "not_promised"]
MATCH_LABEL: dict[str, str] = {
    "matched": "到岗",
    "role_differs": "到岗（岗位不同）",
    "not_on_site": "未到岗",
    "not_promised": "名单外人员",
}


class StaffRow(Frozen):
    """One person: as promised (None when not in the bid) and as on the roster (None when absent)."""

    name: str
    match: Match
    match_label: str
    promised_role: str | None = None
    promised_years: Decimal | None = None
    promised_education: str | None = None
    actual_role: str | None = None
    actual_years: Decimal | None = None
    actual_education: str | None = None
    roster_event: str | None = Field(default=None, description="the roster entry's event id")
    coverage: Decimal | None = Field(default=None, description="share of service workdays with a clock-in")
    days_present: int = 0
    first_day: str | None = None
    late: int | None = Field(default=None, description="late arrivals (None: the contract sets no start)")
    left_early: int | None = Field(default=None, description="early leaves (None: the contract sets no end)")


class RoleRow(Frozen):
    role: str
    required: bool
    promised: int
    on_site: int


class ContractStaffing(Frozen):
    contract: str
    name: str
    vendor: str
    min_on_site: int
    on_site: int
    min_coverage: Decimal
    service_workdays: int
    required_roles: tuple[str, ...]
    roles: tuple[RoleRow, ...]
    staff: tuple[StaffRow, ...]


def _contract_staffing(ctx: MetricContext, contract: Contract) -> ContractStaffing:
    terms = contract.staffing
    roster = {
        name: (event_id, role, years, education) for event_id, name, role, years, education, _ in ctx.roster(contract)
    }
    coverage = ctx.coverage(contract)
    workdays = len(service_workdays(ctx.ledger, contract, ctx.work))
    # Late and early leaves are only reckoned against a working day the contract sets.
    late = (
        Counter(staff for staff, *_ in ctx.late_arrivals(contract))
        if terms.shift_start or terms.working_hours
        else None
    )
    early = Counter(staff for staff, *_ in ctx.early_leaves(contract)) if terms.working_hours else None
    days = {name: len(ctx.ledger.first_clock_in.get((contract.id, name), {})) for name in roster}

    def actual(name: str) -> dict[str, object]:
        event_id, role, years, education = roster[name]
        share, first, _ = coverage.get(name, (None, None, []))
        return {
            "actual_role": role,
            "actual_years": years,
            "actual_education": education,
            "roster_event": event_id,
            "coverage": share,
            "days_present": days.get(name, 0),
            "first_day": first.isoformat() if first else None,
            "late": None if late is None else late.get(name, 0),
            "left_early": None if early is None else early.get(name, 0),
        }

    rows: list[StaffRow] = []
    promised_names = set()
    for person in terms.committed:
        promised_names.add(person.name)
        promised = {
            "promised_role": person.role,
            "promised_years": person.years,
            "promised_education": person.education,
        }
        if person.name not in roster:
            rows.append(
                StaffRow(name=person.name, match="not_on_site", match_label=MATCH_LABEL["not_on_site"], **promised)
            )
            continue
        match: Match = "matched" if roster[person.name][1] == person.role else "role_differs"
        rows.append(
            StaffRow(name=person.name, match=match, match_label=MATCH_LABEL[match], **promised, **actual(person.name))
        )
    for name in sorted(set(roster) - promised_names):
        rows.append(StaffRow(name=name, match="not_promised", match_label=MATCH_LABEL["not_promised"], **actual(name)))

    promised_roles = Counter(p.role for p in terms.committed)
    actual_roles = Counter(role for _, role, _, _ in roster.values())
    role_names = list(dict.fromkeys([*terms.required_roles, *promised_roles, *sorted(actual_roles)]))
    roles = tuple(
        RoleRow(
            role=r,
            required=r in terms.required_roles,
            promised=promised_roles.get(r, 0),
            on_site=actual_roles.get(r, 0),
        )
        for r in role_names
    )
    return ContractStaffing(
        contract=contract.id,
        name=contract.name,
        vendor=contract.vendor,
        min_on_site=terms.min_on_site,
        on_site=len(roster),
        min_coverage=terms.min_coverage,
        service_workdays=workdays,
        required_roles=terms.required_roles,
        roles=roles,
        staff=tuple(rows),
    )


def staffing_comparison(ctx: MetricContext) -> tuple[ContractStaffing, ...]:
    """Every contract that promises staff or has a roster, in the definition's order."""
    out = []
    for contract in ctx.ledger.definition.contracts.contracts:
        terms = contract.staffing
        if terms.committed or terms.required_roles or terms.min_on_site or ctx.roster(contract):
            out.append(_contract_staffing(ctx, contract))
    return tuple(out)
