"""The workbench follows the fleet without polling: a score change is pushed to the open tab
(server-sent events), the page shows the new total, and an idle tab writes nothing to the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apikeys import issue_key

from .conftest import Fleet, bundle_events, wait_for

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"


def test_a_score_change_reaches_the_open_workbench_and_an_idle_tab_reads_nothing(fleet: Fleet, workbench: Any) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    half = len(events) // 2
    fleet.push(events[:half])
    first = fleet.wait_scored(project, half)
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "东莞评价组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open(f"project={project}")
    page.wait_for_selector("#total")
    assert page.inner_text("#total") == str(first["total"])
    page.wait_for_selector('#live[data-state="on"]')
    key_id = evaluator.split("_")[1]

    def reads() -> int:
        return len(
            fleet.http.get(fleet.url("reporting") + "/v1/admin/audit", params={"actor": key_id, "limit": 1000}).json()
        )

    before = reads()
    page.wait_for_timeout(6000)  # the old dashboard polled every 5 s: two audit entries per tab each time
    assert reads() == before, "an idle workbench tab read the API"

    for start in range(half, len(events), 1000):
        fleet.push(events[start : start + 1000])
    final = fleet.wait_scored(project, len(events))
    assert final["total"] != first["total"]
    wait_for(lambda: page.inner_text("#total") == str(final["total"]), 30, "the pushed score to reach the page")
    assert page.inner_text("#grade").startswith(final["grade"])
    bench.screenshot("after-live-update")
    bench.no_script_errors()
