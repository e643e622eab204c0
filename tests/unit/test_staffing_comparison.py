"""人员对照: the bid's staff list beside the on-site roster and each person's attendance."""

from __future__ import annotations

from pathlib import Path

from opseval_shared.metrics import MetricContext
from opseval_shared.staffing_comparison import staffing_comparison

from opseval.embedded import fold_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_promised_staff_on_site_are_matched_with_their_attendance() -> None:
    (ops,) = staffing_comparison(MetricContext(fold_bundle(ROOT / "examples" / "guangzhou-2023")))
    assert (ops.contract, ops.min_on_site, ops.on_site) == ("ops", 3, 3)
    assert [(r.name, r.match, r.promised_role, r.actual_role) for r in ops.staff] == [
        ("陈立新", "matched", "项目经理", "项目经理"),
        ("王晓峰", "matched", "驻场工程师", "驻场工程师"),
        ("李嘉豪", "matched", "驻场工程师", "驻场工程师"),
    ]
    assert all(r.coverage == 1 and r.days_present >= ops.service_workdays > 0 for r in ops.staff)
    assert all(r.roster_event for r in ops.staff)
    late = {r.name: r.late for r in ops.staff}
    assert late["王晓峰"] == 4 and late["陈立新"] == 0  # the contract sets a start: lateness is reckoned
    assert [(r.role, r.promised, r.on_site) for r in ops.roles] == [("项目经理", 1, 1), ("驻场工程师", 2, 2)]


def test_substituted_staff_show_as_absent_promises_and_unpromised_people() -> None:
    ops, operation = staffing_comparison(MetricContext(fold_bundle(ROOT / "examples" / "dongguan-2022")))
    absent = [r for r in ops.staff if r.match == "not_on_site"]
    extra = [r for r in ops.staff if r.match == "not_promised"]
    assert len(absent) == 15 and all(r.actual_role is None and r.coverage is None for r in absent)
    assert len(extra) == ops.on_site == 15 and all(r.promised_role is None and r.coverage for r in extra)
    assert absent[0].match_label == "未到岗" and extra[0].match_label == "名单外人员"
    experts = next(r for r in ops.roles if r.role == "技术支持专家")
    assert (experts.required, experts.promised, experts.on_site) == (True, 3, 0)
    short = [r for r in operation.staff if r.coverage is not None and r.coverage < operation.min_coverage]
    assert len(short) == 5  # five of six joined late in the period
