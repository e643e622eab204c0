"""Every rule has its 原因分析 (cause) and 建议 (advice) as data, written for the report's
存在的问题及原因分析 and 有关建议 chapters, naming only values a finding can supply."""

from __future__ import annotations

import re

import pytest
from opseval_rules.catalogue import RULES
from opseval_rules.narratives import NARRATIVES, PLACEHOLDERS, placeholders, render

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_every_rule_has_a_cause_and_an_advice_and_no_text_is_left_without_a_rule() -> None:
    assert set(NARRATIVES) == {r.id for r in RULES}


@pytest.mark.parametrize("rule", sorted(NARRATIVES))
def test_each_text_is_chinese_prose_naming_only_known_values(rule: str) -> None:
    narrative = NARRATIVES[rule]
    for text in (narrative.cause, narrative.advice):
        assert len(CHINESE.findall(text)) >= 20, text
        assert text.endswith("。"), text
        assert placeholders(text) <= PLACEHOLDERS, text
    assert narrative.advice.startswith("建议"), narrative.advice
    assert not narrative.cause.startswith("建议"), narrative.cause


def test_render_fills_the_contracts_values() -> None:
    text = "建议督促{vendor}按{contract}的要求（{required}）整改。"
    assert render(text, vendor="某公司", contract="运维服务项目", required="每月 1 次") == (
        "建议督促某公司按运维服务项目的要求（每月 1 次）整改。"
    )
