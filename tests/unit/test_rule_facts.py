"""Measure values become the facts rules match: one per contract, or one per subject."""

from __future__ import annotations

from domainbuilders import context, contract, definition, event, leaf
from opseval_rules.facts import listed, measure_facts


def test_one_fact_per_contract_and_one_per_subject_for_grouped_measures() -> None:
    staffed = contract(staffing={"committed": [{"name": "张三", "role": "工程师"}], "shift_start": "09:00"})
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[staffed])
    events = [
        event("r1", "roster_entry", {"name": "张三", "role": "工程师"}, at="2024-01-02T09:00:00+08:00"),
        event("c1", "clock_in", {"staff": "张三"}, at="2024-06-03T09:10:00+08:00"),
        event("c2", "clock_in", {"staff": "李四"}, at="2024-06-04T09:20:00+08:00"),
    ]
    got = measure_facts(context(defn, events), ["staff.late_arrivals_committed", "staff.late_arrivals_by_staff"])
    by_key = {(f["measure"], f["subject"]): f for f in got.facts}
    assert set(by_key) == {
        ("staff.late_arrivals_committed", ""),
        ("staff.late_arrivals_by_staff", "张三"),
        ("staff.late_arrivals_by_staff", "李四"),
    }
    total = by_key[("staff.late_arrivals_committed", "")]
    assert (total["t"], total["contract"], total["value"], total["evidence"]) == ("measure", "ops", 1.0, 1)
    assert total["numerator"] is None and total["denominator"] is None
    assert got.evidence([("staff.late_arrivals_by_staff", "ops", "李四")]) == ("c2",)


def test_a_distinct_counts_items_are_listed_with_the_separator_chinese_uses() -> None:
    assert listed(["吴刚", "周敏"]) == "吴刚、周敏"
    assert listed(["张三出勤覆盖 50.0%，首次打卡 2023-06-21", "李四出勤覆盖 0.0%，无打卡记录"]) == (
        "张三出勤覆盖 50.0%，首次打卡 2023-06-21；李四出勤覆盖 0.0%，无打卡记录"
    )


def test_a_distinct_count_carries_what_it_counted_for_a_rules_message() -> None:
    staffed = contract(staffing={"committed": [{"name": "张三", "role": "工程师"}, {"name": "李四", "role": "工程师"}]})
    defn = definition([leaf("x", "1", {"type": "judgment"})], contracts=[staffed])
    events = [
        event("r1", "roster_entry", {"name": "李四", "role": "工程师"}, at="2024-01-02T09:00:00+08:00"),
        event("r2", "roster_entry", {"name": "张三", "role": "工程师"}, at="2024-01-02T09:00:00+08:00"),
        event("r3", "roster_entry", {"name": "王五", "role": "工程师"}, at="2024-01-02T09:00:00+08:00"),
    ]
    [fact] = measure_facts(context(defn, events), ["staff.committed_on_site_names"]).facts
    assert (fact["value"], fact["items"]) == (2.0, "张三、李四")
