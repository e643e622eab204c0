"""The rule language: its parser and type checker, its compiler to durable_rules, and matching.

Facts are written as the measure language will give them. Each compiled rule runs in the guarded
engine, so every firing here is durable_rules' own match (joins included); Python only renders.
The last section proves, on a raw durable_rules host, what the engine cannot do honestly — the
reasons the compiler refuses or rewrites what it does.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import random
from collections.abc import Callable
from typing import Any

import durable.engine as durable_engine
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opseval_rules.compiler import compile_patterns, compile_rules, engine_facts, match
from opseval_rules.definitions import RuleDefinition, RuleProblem, check_rule, format_value
from opseval_rules.engine import RulesEngine
from opseval_rules.expression import (
    Arith,
    Compare,
    ExpressionError,
    Literal_,
    Logic,
    Negate,
    Node,
    Not,
    Ref,
)

ENGINE = RulesEngine()
NAMES = {"c1": "运维服务项目", "c2": "运营服务项目"}


def measure(mid: str, value: float, contract: str = "c1", subject: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "t": "measure",
        "measure": mid,
        "contract": contract,
        "subject": subject,
        "value": value,
        "numerator": extra.get("numerator"),
        "denominator": extra.get("denominator"),
        "evidence": extra.get("evidence", 1),
        **({"items": extra["items"]} if "items" in extra else {}),
    }


def term(name: str, value: float | str | bool, contract: str = "c1") -> dict[str, Any]:
    return {"t": "term", "term": name, "contract": contract, "value": value}


def rule(**fields: Any) -> RuleDefinition:
    base: dict[str, Any] = {
        "id": "test.rule",
        "name": "测试规则",
        "severity": "medium",
        "bind": {"late": {"measure": "staff.late_arrivals"}},
        "when": "late.value > 0",
        "message": "{contract.name}：迟到 {late.value:d} 次。",
    }
    return RuleDefinition.model_validate(base | fields)


def fired(rules: list[RuleDefinition], facts: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(m.rule, m.contract, m.subject) for m in match(rules, facts, engine=ENGINE)]


# ---------------------------------------------------------------- parser: good expressions


def compiled_of(r: RuleDefinition) -> list[tuple[tuple[str, dict[str, Any]], ...]]:
    """The engine patterns of each alternative (the comparisons left for Python must be none here)."""
    alternatives = compile_patterns(check_rule(r))
    assert all(checks == () for _, checks in alternatives)
    return [patterns for patterns, _ in alternatives]


def test_precedence_and_constant_folding_compile_to_one_constant() -> None:
    (patterns,) = compiled_of(rule(when="late.value > 1 + 2 * 3 - 4 / 2"))
    assert patterns == (
        ("b0", {"$and": [{"t": "measure"}, {"measure": "staff.late_arrivals"}, {"$gt": {"value": 5.0}}]}),
    )


def test_parentheses_percent_and_unicode_operators() -> None:
    (patterns,) = compiled_of(rule(when="late.value × 2 ≥ (90% + 10%) ÷ 2"))
    # late.value * 2 >= 0.5  ⇔  late.value >= 0.25
    assert patterns[0][1]["$and"][-1] == {"$gte": {"value": 0.25}}


def test_not_is_pushed_to_the_comparison() -> None:
    (patterns,) = compiled_of(rule(when="not (late.value > 5 or late.value < 1)"))
    assert patterns[0][1]["$and"][-2:] == [{"$lte": {"value": 5.0}}, {"$gte": {"value": 1.0}}]


def test_text_equality_and_inequality() -> None:
    (patterns,) = compiled_of(rule(when="late.subject == '张三' and late.contract != \"c2\""))
    assert patterns[0][1]["$and"][-2:] == [{"subject": "张三"}, {"$neq": {"contract": "c2"}}]


def test_a_condition_that_is_always_false_compiles_to_no_engine_rule() -> None:
    r = rule(when="late.value > 0 and params.on", params={"on": False})
    assert compiled_of(r) == []
    assert compile_rules([r]).rules == ()


# ---------------------------------------------------------------- parser: errors with their position


@pytest.mark.parametrize(
    ("when", "column", "words"),
    [
        ("lat.value > 0", 1, "unknown name 'lat.value'"),
        ("late.valu > 0", 1, "has no field 'valu'"),
        ("late > 0", 1, "name one field of late"),
        ("late.value > params.max", 14, "unknown parameter 'max'"),
        ("late.value > > 0", 14, "expected a value"),
        ("late.value = 0", 12, "to compare write '=='"),
        ("late.value > 0 && late.value < 9", 16, "write and/or/not"),
        ("(late.value > 0", 16, "expected ')'"),
        ("late.value > 0 and", 19, "ends too early"),
        ("late.value > 'x", 14, "text not closed"),
        ("late.value > 'x'", 14, "needs a 数值 (number), got a 文本 (text)"),
        ("late.subject > 1", 1, "needs a 数值 (number), got a 文本 (text)"),
        ("late.value + 1", 1, "must be true or false"),
        ("0 < late.value < 9", 16, "do not chain"),
        ("late.value > 0 and 5", 20, "'and' needs a 是/否 (flag)"),
        ("late.value > 1 / 0", 16, "division by zero"),
        ("late.value > 0 0", 16, "expected an operator or the end"),
        ("", None, "at least 1 character"),
    ],
)
def test_a_bad_condition_is_refused_with_the_column(when: str, column: int | None, words: str) -> None:
    if column is None:
        with pytest.raises(ValueError, match=words):
            rule(when=when)
        return
    with pytest.raises(RuleProblem) as caught:
        compiled_of(rule(when=when))
    assert caught.value.loc == ("when",)
    assert words in caught.value.message
    assert f"(column {column} of {when!r})" in caught.value.message


def test_parse_errors_carry_column_and_source() -> None:
    with pytest.raises(RuleProblem) as caught:
        check_rule(rule(when="late.value > params.x"))
    cause = caught.value.__cause__
    assert isinstance(cause, ExpressionError)
    assert (cause.column, cause.source) == (14, "late.value > params.x")


@pytest.mark.parametrize(
    ("fields", "loc", "words"),
    [
        ({"message": "迟到 {late.valu} 次"}, ("message",), "has no field 'valu'"),
        ({"message": "迟到 {late.value:.2x} 次"}, ("message",), "unknown format '.2x'"),
        ({"message": "迟到 {late.subject:.2f}"}, ("message",), "a format applies to numbers only"),
        ({"message": "迟到 {late.value.__class__}"}, ("message",), "name one field of late"),
        ({"message": "迟到 {late.value!r}"}, ("message",), "is not a name"),
        ({"message": "迟到 {late['value']}"}, ("message",), "is not a name"),
        ({"measured": "{contract.owner}"}, ("measured",), "write contract.id or contract.name"),
        ({"required": "{ 1 }"}, ("required",), "is not a name"),
        ({"message": "一个 { 括号"}, ("message",), "unmatched '{'"),
        (
            {"bind": {"late": {"measure": "staff.late_arrivals"}, "full": {"measure": "a.b"}}},
            ("bind", "full"),
            "used neither",
        ),
        ({"terms": {"x.y": "text"}}, ("terms", "x.y"), "declared but never used"),
        (
            {"bind": {"late": {"measure": "m.a"}, "t": {"term": "x.y"}, "s": {"measure": "m.b", "same": ["subject"]}}},
            ("bind", "s", "same"),
            "is a term and has no subject",
        ),
        ({"bind": {"late": {"measure": "m.a", "same": ["contract"]}}}, ("bind", "late", "same"), "nothing earlier"),
    ],
)
def test_bad_messages_and_bindings_are_refused_with_their_field(
    fields: dict[str, Any], loc: tuple[str, ...], words: str
) -> None:
    with pytest.raises(RuleProblem) as caught:
        check_rule(rule(**fields))
    assert caught.value.loc == loc
    assert words in caught.value.message


def test_a_binding_names_exactly_one_of_measure_or_term() -> None:
    with pytest.raises(ValueError, match="exactly one of measure or term"):
        rule(bind={"late": {"measure": "a.b", "term": "c.d"}})
    with pytest.raises(ValueError, match="a term has no subject"):
        rule(bind={"late": {"term": "c.d", "subject": "P1"}})


# ---------------------------------------------------------------- compiler + engine


def test_single_fact_threshold_fires_above_and_holds_at_the_threshold() -> None:
    r = rule(when="late.value > params.max_late", params={"max_late": 2})
    assert fired([r], [measure("staff.late_arrivals", 3)]) == [("test.rule", "c1", "")]
    assert fired([r], [measure("staff.late_arrivals", 2)]) == []
    assert fired([r], [measure("staff.other", 9)]) == []


ATTENDANCE = rule(
    id="score.contradicts_attendance",
    bind={"full": {"measure": "assessment.full_attendance_marks"}, "late": {"measure": "staff.late_arrivals"}},
    when="full.value > 0 and late.value > 0",
    message="{contract.name}：迟到 {late.value:d} 次，考核满分 {full.value:d} 项。",
)


def test_join_rule_fires_only_when_both_facts_of_the_same_contract_match() -> None:
    facts = [
        measure("assessment.full_attendance_marks", 1, "c1"),
        measure("staff.late_arrivals", 3, "c2"),  # another contract's lateness
        measure("assessment.full_attendance_marks", 2, "c2"),
        measure("staff.late_arrivals", 0, "c1"),  # c1 was never late
    ]
    assert fired([ATTENDANCE], facts) == [("score.contradicts_attendance", "c2", "")]
    assert fired([ATTENDANCE], facts[:2]) == []  # full marks in c1, lateness in c2: no join
    facts.append(measure("staff.late_arrivals", 4, "c1"))
    assert fired([ATTENDANCE], facts) == [
        ("score.contradicts_attendance", "c1", ""),
        ("score.contradicts_attendance", "c2", ""),
    ]


def test_join_rule_renders_its_message_from_both_facts() -> None:
    facts = [measure("assessment.full_attendance_marks", 2, "c1"), measure("staff.late_arrivals", 28, "c1")]
    (m,) = match([ATTENDANCE], facts, engine=ENGINE, contract_names=NAMES)
    assert m.message == "运维服务项目：迟到 28 次，考核满分 2 项。"
    assert [alias for alias, _ in m.facts] == ["full", "late"]
    assert m.facts[1][1] == facts[1]


def test_join_across_contracts_when_same_is_empty() -> None:
    r = ATTENDANCE.model_copy(
        update={
            "bind": {
                "full": ATTENDANCE.bind["full"],
                "late": ATTENDANCE.bind["late"].model_copy(update={"same": ()}),
            }
        }
    )
    facts = [measure("assessment.full_attendance_marks", 1, "c1"), measure("staff.late_arrivals", 3, "c2")]
    assert fired([r], facts) == [("score.contradicts_attendance", "c1", "")]


SUBJECT_JOIN = rule(
    id="staff.absent_and_late",
    bind={
        "coverage": {"measure": "staff.attendance_coverage"},
        "late": {"measure": "staff.late_arrivals", "same": ["contract", "subject"]},
    },
    when="coverage.value < 0.9 and late.value > 0",
    message="{coverage.subject}：覆盖 {coverage.value:.0%}，迟到 {late.value:d} 次",
)


def test_subject_join_pairs_facts_of_the_same_staff_member() -> None:
    facts = [
        measure("staff.attendance_coverage", 0.5, subject="张三"),
        measure("staff.attendance_coverage", 0.95, subject="李四"),
        measure("staff.late_arrivals", 0, subject="张三"),
        measure("staff.late_arrivals", 4, subject="李四"),
    ]
    assert fired([SUBJECT_JOIN], facts) == []  # 张三 is short but never late; 李四 late but covered
    facts.append(measure("staff.late_arrivals", 2, subject="张三"))
    assert fired([SUBJECT_JOIN], facts) == [("staff.absent_and_late", "c1", "张三")]
    facts.append(measure("staff.late_arrivals", 2, "c2", subject="张三"))  # same name, other contract
    assert fired([SUBJECT_JOIN], facts) == [("staff.absent_and_late", "c1", "张三")]


def test_subject_filter_keeps_only_that_subject() -> None:
    r = rule(bind={"late": {"measure": "fault.sla_breaches", "subject": "P1"}}, when="late.value > 0")
    facts = [measure("fault.sla_breaches", 2, subject="P2"), measure("fault.sla_breaches", 0, subject="P1")]
    assert fired([r], facts) == []
    assert fired([r], [*facts, measure("fault.sla_breaches", 1, subject="P1")]) == [("test.rule", "c1", "P1")]


def test_contract_term_is_joined_on_the_contract_and_a_contract_without_it_is_not_judged() -> None:
    r = rule(
        bind={"coverage": {"measure": "staff.attendance_coverage"}},
        when="coverage.value < terms.staffing.min_coverage",
        message="{coverage.subject} {coverage.value:.0%} < {terms.staffing.min_coverage:.0%}",
    )
    facts = [
        measure("staff.attendance_coverage", 0.9, "c1", "张三"),
        measure("staff.attendance_coverage", 0.9, "c2", "李四"),
        measure("staff.attendance_coverage", 0.5, "c3", "王五"),  # c3 promises no coverage
        term("staffing.min_coverage", 0.95, "c1"),
        term("staffing.min_coverage", 0.85, "c2"),
    ]
    matches = match([r], facts, engine=ENGINE)
    assert [(m.contract, m.subject, m.message) for m in matches] == [("c1", "张三", "张三 90% < 95%")]


def test_contract_terms_are_compiled_in_as_constants_of_each_contract() -> None:
    r = rule(
        bind={"coverage": {"measure": "staff.attendance_coverage"}},
        when="coverage.value < terms.staffing.min_coverage",
        message="{coverage.value}",
    )
    terms = {"c1": {"staffing.min_coverage": 0.95}, "c2": {"staffing.min_coverage": 0.85}, "c3": {}}
    compiled = compile_rules([r], terms)
    assert [(rule.name, rule.patterns) for rule in compiled.rules] == [
        (
            "r000_test_rule_k0_0",
            (
                (
                    "b0",
                    {
                        "$and": [
                            {"t": "measure"},
                            {"measure": "staff.attendance_coverage"},
                            {"contract": "c1"},
                            {"$lt": {"value": 0.95}},
                        ]
                    },
                ),
            ),
        ),
        (
            "r000_test_rule_k1_0",
            (
                (
                    "b0",
                    {
                        "$and": [
                            {"t": "measure"},
                            {"measure": "staff.attendance_coverage"},
                            {"contract": "c2"},
                            {"$lt": {"value": 0.85}},
                        ]
                    },
                ),
            ),
        ),
    ]
    assert compiled.residual == {"r000_test_rule_k0_0": (), "r000_test_rule_k1_0": ()}


def test_a_term_of_another_type_than_the_rule_compares_is_refused() -> None:
    r = rule(when="late.value > 0 and terms.staffing.required", terms={"staffing.required": "flag"})
    assert fired([r], [measure("staff.late_arrivals", 1), term("staffing.required", True)]) == [("test.rule", "c1", "")]
    assert fired([r], [measure("staff.late_arrivals", 1), term("staffing.required", False)]) == []
    # durable_rules would take 1 for true (and compares text with numbers inconsistently)
    with pytest.raises(ValueError, match=r"term staffing\.required of contract 'c1' is number"):
        fired([r], [measure("staff.late_arrivals", 1), term("staffing.required", 1)])


def test_a_comparison_between_two_facts_values_is_checked_in_python_on_the_engines_join() -> None:
    r = rule(
        id="score.contradicts_evidence",
        bind={"claim": {"measure": "self_eval.claimed_rate"}, "actual": {"measure": "deliverable.on_time_rate"}},
        when="claim.value > 0 and claim.value - actual.value > params.tolerance",
        params={"tolerance": 0.0001},
        message="自评 {claim.value:.2%}，实际 {actual.value:.2%}",
    )
    ((patterns, checks),) = compile_patterns(check_rule(r))
    # the engine joins on the contract and tests claim.value > 0; the difference is left for Python
    assert patterns[1][1] == {
        "$and": [{"t": "measure"}, {"measure": "deliverable.on_time_rate"}, {"contract": {"b0": "contract"}}]
    }
    assert patterns[0][1]["$and"][-1] == {"$gt": {"value": 0.0}}
    assert len(checks) == 1 and isinstance(checks[0], Compare)
    facts = [measure("self_eval.claimed_rate", 1.0), measure("deliverable.on_time_rate", 0.75)]
    assert fired([r], facts) == [("score.contradicts_evidence", "c1", "")]
    assert fired([r], [facts[0], measure("deliverable.on_time_rate", 1.0)]) == []
    assert fired([r], [facts[0], measure("deliverable.on_time_rate", 0.75, "c2")]) == []


def test_optional_fields_apply_the_rule_only_to_facts_that_have_them() -> None:
    r = rule(when="late.denominator > 10 or late.value > 100")
    assert fired([r], [measure("staff.late_arrivals", 500)]) == []  # no denominator: not judged
    assert fired([r], [measure("staff.late_arrivals", 500, denominator=5)]) == [("test.rule", "c1", "")]
    assert fired([r], [measure("staff.late_arrivals", 1, denominator=11)]) == [("test.rule", "c1", "")]


def test_or_across_facts_becomes_alternatives_and_a_match_is_reported_once() -> None:
    r = rule(
        bind={"a": {"measure": "m.a"}, "b": {"measure": "m.b"}},
        when="a.value > 5 or b.value > 5",
        message="{a.value} {b.value}",
    )
    assert len(compile_rules([r]).rules) == 2
    assert fired([r], [measure("m.a", 9), measure("m.b", 9)]) == [("test.rule", "c1", "")]
    assert fired([r], [measure("m.a", 1), measure("m.b", 9)]) == [("test.rule", "c1", "")]
    assert fired([r], [measure("m.a", 1), measure("m.b", 1)]) == []


def test_division_by_a_value_that_is_zero_follows_double_arithmetic() -> None:
    r = rule(
        bind={"a": {"measure": "m.a"}, "b": {"measure": "m.b"}},
        when="b.value > a.value / a.evidence",
        message="{a.value} {b.value}",
    )
    # a.evidence 0: 5/0 is +inf, nothing exceeds it (in durable_rules, integer 5/0 kills the process)
    assert fired([r], [measure("m.a", 5, evidence=0), measure("m.b", 9)]) == []
    assert fired([r], [measure("m.a", 5, evidence=2), measure("m.b", 3)]) == [("test.rule", "c1", "")]


@pytest.mark.parametrize(
    ("when", "fires", "holds"),
    [
        ("late.value > late.evidence", (3, 2, 5), (3, 3, 5)),
        ("b.value * late.value > 1", (1, 1, 2), (1, 1, 1)),
        ("1 / b.value > late.value", (1, 1, 0.5), (1, 1, 1)),
        ("late.value * 0 < b.value", (1, 1, 0.5), (1, 1, -1)),
    ],
)
def test_comparisons_the_engine_cannot_test_are_checked_in_python(
    when: str, fires: tuple[float, int, float], holds: tuple[float, int, float]
) -> None:
    r = rule(bind={"late": {"measure": "m.a"}, "b": {"measure": "m.b"}}, when=when, message="{b.value}")
    ((_, checks),) = compile_patterns(check_rule(r))
    assert len(checks) == 1

    def facts(values: tuple[float, int, float]) -> list[dict[str, Any]]:
        return [measure("m.a", values[0], evidence=values[1]), measure("m.b", values[2])]

    assert fired([r], facts(fires)) == [("test.rule", "c1", "")]
    assert fired([r], facts(holds)) == []


def test_a_constant_durable_rules_cannot_read_is_refused() -> None:
    r = rule(when="late.value > params.tiny", params={"tiny": 0.00001})
    with pytest.raises(RuleProblem, match="cannot be read by durable_rules") as caught:
        compiled_of(r)
    assert caught.value.loc == ("when",)


def test_identical_matching_shares_one_registration_and_a_changed_parameter_does_not() -> None:
    engine = RulesEngine()
    base = rule(when="late.value > params.max", params={"max": 2})
    reworded = base.model_copy(update={"message": "另一种说法 {late.value}"})
    stricter = base.model_copy(update={"params": {"max": 0}})
    first = engine.register(compile_rules([base]).rules)
    assert engine.register(compile_rules([reworded]).rules) == first
    assert engine.register(compile_rules([stricter]).rules) != first
    facts = [measure("staff.late_arrivals", 1)]
    assert [m.message for m in match([reworded], facts, engine=engine)] == []
    # without contract names, a message names the contract by its id
    assert [m.message for m in match([stricter], facts, engine=engine)] == ["c1：迟到 1 次。"]


def test_facts_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"fact 0: value"):
        engine_facts([{"t": "measure", "measure": "m", "value": "many"}])
    with pytest.raises(ValueError, match=r"fact 1: value"):
        engine_facts([measure("m.a", 1), measure("m.a", math.inf)])
    with pytest.raises(ValueError, match="fact 0"):
        engine_facts([{"t": "opinion", "value": 1}])


def test_values_durable_rules_writes_with_an_exponent_are_matched_correctly() -> None:
    r = rule(when="late.value > 0.0001")
    tiny = [measure("staff.late_arrivals", v) for v in (3.3e-05, 1 / 30000, 0.00011, 1e16 / 3)]
    assert [m.facts[0][1]["value"] for m in match([r], tiny, engine=ENGINE)] == [0.00011, 1e16 / 3]


# ---------------------------------------------------------------- message formatting


@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [
        (3.0, "", "3"),
        (0.935, "", "0.94"),  # half up, as the field rounds (binary 0.935 is below it)
        (0.125, ".2f", "0.13"),
        (0.9, ".0%", "90%"),
        (0.18345, ".2%", "18.35%"),
        (2.5, "d", "3"),
        (1234567.891, ",.2f", "1,234,567.89"),
        (-0.0001, ".2f", "0.00"),
        (True, "", "是"),
        ("张三", "", "张三"),
        (None, "", "—"),
    ],
)
def test_format_value(value: Any, spec: str, text: str) -> None:
    assert format_value(value, spec) == text


def test_braces_are_escaped_by_doubling() -> None:
    (m,) = match(
        [rule(message="{{字面}} {late.value} 次 {params.x:.0%}", params={"x": 0.5})],
        [measure("staff.late_arrivals", 2)],
        engine=ENGINE,
    )
    assert m.message == "{字面} 2 次 50%"


# ---------------------------------------------------------------- order independence (property)


def _reference(node: Node, env: dict[str, dict[str, Any]], params: dict[str, Any]) -> Any:
    """The condition evaluated directly, as the meaning the engine must reproduce (test only)."""
    if isinstance(node, Literal_):
        return node.value
    if isinstance(node, Ref):
        return params[node.name] if node.scope == "param" else env[node.name][node.field]
    if isinstance(node, Negate):
        return -_reference(node.operand, env, params)
    if isinstance(node, Not):
        return not _reference(node.operand, env, params)
    if isinstance(node, Arith):
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "+": operator.add,
            "-": operator.sub,
            "*": operator.mul,
            "/": operator.truediv,
        }
        return ops[node.op](_reference(node.left, env, params), _reference(node.right, env, params))
    if isinstance(node, Compare):
        cmp: dict[str, Callable[[Any, Any], bool]] = {
            "<": operator.lt,
            "<=": operator.le,
            ">": operator.gt,
            ">=": operator.ge,
            "==": operator.eq,
            "!=": operator.ne,
        }
        return cmp[node.op](_reference(node.left, env, params), _reference(node.right, env, params))
    assert isinstance(node, Logic)
    values = [_reference(i, env, params) for i in node.items]
    return all(values) if node.op == "and" else any(values)


_HALVES = st.integers(-8, 8).map(lambda n: n / 2)
_NUMBER_EXPR = st.recursive(
    st.sampled_from(["a.value", "b.value", "a.evidence", "params.p", "1", "0.5", "2"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(["* 2", "/ 2", "* -1"])).map(lambda t: f"({t[0]} {t[1]})"),
    ),
    max_leaves=4,
)
_COMPARISON = st.tuples(_NUMBER_EXPR, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _NUMBER_EXPR).map(" ".join)
_CONDITION = st.recursive(
    _COMPARISON,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=3,
)
_FACTS = st.lists(
    st.tuples(st.sampled_from(["m.a", "m.b"]), st.sampled_from(["c1", "c2"]), _HALVES, st.integers(0, 3)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(condition=_CONDITION, rows=_FACTS, p=_HALVES, seed=st.integers(0, 2**16))
def test_engine_matches_the_meaning_of_the_condition_whatever_the_order_of_the_facts(
    condition: str, rows: list[tuple[str, str, float, int]], p: float, seed: int
) -> None:
    r = rule(
        bind={"a": {"measure": "m.a"}, "b": {"measure": "m.b"}},
        when=condition,
        params={"p": p},
        message="{a.value} {b.value}",
    )
    try:
        compiled = compile_rules([r])
    except RuleProblem:
        assume(False)  # e.g. a constant durable_rules cannot read (tested above)
        raise
    facts = [measure(mid, value, contract, evidence=evidence) for mid, contract, value, evidence in rows]
    checked = compiled.checked[r.id]
    expected = sorted(
        json.dumps([fa, fb], sort_keys=True)
        for i, fa in enumerate(facts)
        for j, fb in enumerate(facts)
        if i != j
        and fa["measure"] == "m.a"
        and fb["measure"] == "m.b"
        and fa["contract"] == fb["contract"]
        and _reference(checked.condition, {"a": fa, "b": fb}, {"p": p})
    )
    got = [
        json.dumps([dict(m.facts)["a"], dict(m.facts)["b"]], sort_keys=True) for m in match([r], facts, engine=ENGINE)
    ]
    assert sorted(got) == expected
    shuffled = list(facts)
    random.Random(seed).shuffle(shuffled)
    assert match([r], shuffled, engine=ENGINE) == match([r], facts, engine=ENGINE)


# ---------------------------------------------------------------- what durable_rules cannot do (raw host)


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    def _run(self) -> None:
        return None


def _raw_run(patterns: list[tuple[str, dict[str, Any]]], facts: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    host = _QuietHost()
    seen: list[tuple[str, ...]] = []
    aliases = [a for a, _ in patterns if "$" not in a]  # a negated pattern binds nothing
    host.set_rulesets(
        {
            "raw": {
                "r": {
                    "all": [{a: c} for a, c in patterns],
                    "run": lambda c: seen.append(tuple(c._m[a]["id"] for a in aliases)),
                }
            }
        }
    )
    for index, fact in enumerate(facts):
        with contextlib.suppress(durable_engine.MessageNotHandledException):
            host.assert_fact("raw", {"id": f"f{index}", "sid": "s", **fact})
    return seen


def test_durable_misreads_a_comparison_between_two_fields_of_one_fact() -> None:
    # value > numerator on the fact itself: fires for 0 > 1 too — hence refused by the compiler
    seen = _raw_run(
        [("m", {"$and": [{"t": "E"}, {"$gt": {"value": {"m": "numerator"}}}]})],
        [{"t": "E", "value": 0, "numerator": 1}],
    )
    assert seen == [("f0",)]


def test_durable_cannot_bind_one_fact_twice() -> None:
    seen = _raw_run(
        [("a", {"t": "E"}), ("b", {"$and": [{"t": "E"}, {"value": {"a": "value"}}]})], [{"t": "E", "value": 1}]
    )
    assert seen == []


def test_durable_never_matches_arithmetic_on_constants_alone() -> None:
    # so the compiler computes it: b.value > 2 + 3 must fire for 9 and does not
    patterns = [("a", {"t": "A"}), ("b", {"$and": [{"t": "B"}, {"$gt": {"value": {"$add": {"$l": 2.0, "$r": 3.0}}}}]})]
    assert _raw_run(patterns, [{"t": "A"}, {"t": "B", "value": 9.0}]) == []


def test_durable_absence_depends_on_the_order_facts_are_asserted() -> None:
    # "an N with no P of its contract": the verdict changes with the order of assertion
    host_patterns = [("a", {"t": "N"}), ("b$not", {"$and": [{"t": "P"}, {"contract": {"a": "contract"}}]})]
    n, p = {"t": "N", "contract": "c1"}, {"t": "P", "contract": "c1"}
    assert _raw_run(host_patterns, [p, n]) == []
    assert _raw_run(host_patterns, [n, p]) == [("f0",)]


def test_durable_compares_references_to_null_inconsistently() -> None:
    # != against an earlier fact's null field matches; against the fact's own null field it does not
    earlier = [("a", {"t": "A"}), ("b", {"$and": [{"t": "B"}, {"$neq": {"value": {"a": "num"}}}]})]
    own = [("m", {"$and": [{"t": "B"}, {"$neq": {"num": 5.0}}]})]
    assert _raw_run(earlier, [{"t": "A", "num": None}, {"t": "B", "value": 5.0}]) == [("f0", "f1")]
    assert _raw_run(own, [{"t": "B", "num": None}]) == []


def test_durable_or_mixing_a_join_and_a_constant_misses_the_constant_branch() -> None:
    # b.value >= a.value or b.value >= 0, with a 0.5 and b 0: the second branch holds, nothing fires
    patterns = [
        ("a", {"t": "A"}),
        ("b", {"$and": [{"t": "B"}, {"$or": [{"$gte": {"value": {"a": "value"}}}, {"$gte": {"value": 0.0}}]}]}),
    ]
    assert _raw_run(patterns, [{"t": "A", "value": 0.5}, {"t": "B", "value": 0.0}]) == []
    # the compiler makes such an `or` two engine rules, and the match is found
    r = rule(
        bind={"a": {"measure": "m.a"}, "b": {"measure": "m.b"}},
        when="b.value >= a.value or b.value >= 0",
        message="{a.value} {b.value}",
    )
    assert len(compile_rules([r]).rules) == 2
    assert fired([r], [measure("m.a", 0.5), measure("m.b", 0)]) == [("test.rule", "c1", "")]


def test_compiled_rule_set_is_one_engine_rule_per_rule_and_names_are_stable() -> None:
    compiled = compile_rules([ATTENDANCE, rule()])
    assert [r.name for r in compiled.rules] == ["r000_score_contradicts_attendance_0", "r001_test_rule_0"]
    assert compiled.origin["r001_test_rule_0"] == ("test.rule", ("late",), None)


# ---------------------------------------------------------------- subject, lists, cite, vendor, the c format

LATE_ROWS = [{"staff": name, "day": f"2024-06-0{d}"} for d, name in enumerate(["张三", "李四", "王五", "赵六"], 3)]


def listed(facts: list[dict[str, Any]], rows: list[dict[str, Any]], **fields: Any) -> Any:
    r = rule(**fields)
    [m] = match([r], facts, engine=ENGINE, contract_names=NAMES, records=lambda fact: rows)
    return m


def test_the_subject_template_names_the_finding_and_defaults_to_the_first_facts_subject() -> None:
    facts = [measure("staff.late_arrivals", 2, subject="张三")]
    assert listed(facts, [], subject="late:{late.subject}").subject == "late:张三"
    assert listed(facts, []).subject == "张三"


def test_a_list_shows_the_first_records_and_then_how_many_there_were() -> None:
    lists = {"late": {"of": "late", "each": "{staff} {day}", "join": "；", "first": 3, "more": "等 {count} 次"}}
    m = listed([measure("staff.late_arrivals", 4)], LATE_ROWS, lists=lists, message="迟到：{lists.late}。")
    assert m.message == "迟到：张三 2024-06-03；李四 2024-06-04；王五 2024-06-05等 4 次。"
    everything = {"late": {"of": "late", "each": "{staff}"}}
    m = listed([measure("staff.late_arrivals", 4)], LATE_ROWS, lists=everything, message="{lists.late}")
    assert m.message == "张三、李四、王五、赵六"


def test_a_list_keeps_only_the_records_meeting_its_where_and_says_empty_when_none_does() -> None:
    lists = {"who": {"of": "late", "where": {"staff": ["李四", "赵六"]}, "each": "{staff}", "empty": "无"}}
    m = listed([measure("staff.late_arrivals", 4)], LATE_ROWS, lists=lists, message="{lists.who}")
    assert m.message == "李四、赵六"
    assert listed([measure("staff.late_arrivals", 4)], [], lists=lists, message="{lists.who}").message == "无"


@pytest.mark.parametrize(
    ("lists", "where", "words"),
    [
        ({"x": {"of": "nobody", "each": "{staff}"}}, ("lists", "x", "of"), "not a bound measure"),
        ({"x": {"of": "late", "each": "{a.b}"}}, ("lists", "x", "each"), "one field of the record"),
        ({"x": {"of": "late", "each": "{staff}", "more": "{total}"}}, ("lists", "x", "more"), "{count}"),
        ({"x": {"of": "late", "each": "{staff}"}}, ("lists", "x"), "shown in no message"),
    ],
    ids=["unknown-fact", "dotted-field", "more-names-another-value", "never-shown"],
)
def test_bad_lists_are_refused_with_their_field(lists: dict[str, Any], where: tuple[str, ...], words: str) -> None:
    with pytest.raises(RuleProblem) as caught:
        check_rule(rule(lists=lists))
    assert caught.value.loc == where
    assert words in caught.value.message


def test_a_list_naming_a_contract_list_in_its_where_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="contract list"):
        rule(lists={"x": {"of": "late", "where": {"staff": {"in": "committed_staff"}}, "each": "{staff}"}})


def test_cause_and_advice_are_templates_naming_the_contracts_vendor() -> None:
    facts = [measure("staff.late_arrivals", 1)]
    advice = "督促{contract.vendor}整改（迟到 {late.value:d} 次）。"
    r = rule(advice=advice)
    [m] = match([r], facts, engine=ENGINE, contract_names=NAMES, contract_vendors={"c1": "某科技公司"})
    assert m.advice == "督促某科技公司整改（迟到 1 次）。"
    [m] = match([r], facts, engine=ENGINE, contract_names=NAMES)
    assert m.advice == "督促供应商整改（迟到 1 次）。"


def test_a_measure_fact_carries_its_subjects_label() -> None:
    fact = measure("deliverables.units_due", 3, subject="monthly_report") | {"label": "运维月报"}
    m = listed(
        [fact], [], bind={"due": {"measure": "deliverables.units_due"}}, when="due.value > 0", message="{due.label}"
    )
    assert m.message == "运维月报"


def test_cite_false_is_for_measures_only() -> None:
    with pytest.raises(ValueError, match="'cite' is for measures"):
        rule(bind={"late": {"measure": "staff.late_arrivals"}, "t": {"term": "x.y", "cite": False}})


@pytest.mark.parametrize(("value", "text"), [(1, "一"), (2, "两"), (3, "三"), (10, "十"), (11, "11"), (2.5, "3")])
def test_the_c_format_writes_a_count_as_the_field_says_it(value: float, text: str) -> None:
    assert format_value(value, "c") == text


# ---------------------------------------------------------------- scope: the project's own figures


WHOLE = [measure("budget.adjustment_rate", 0.3, "c1"), measure("budget.adjustment_rate", 0.2, "")]


def scoped(scope: str, *, several_contracts: bool = True) -> list[tuple[str, str]]:
    r = rule(
        scope=scope,
        bind={"rate": {"measure": "budget.adjustment_rate"}},
        when="rate.value > terms.reporting.max_adjustment_rate",
        subject="adj:{contract.key}",
        message="{contract.name}：预算调整率 {rate.value:.0%}。",
    )
    facts = [*WHOLE, term("reporting.max_adjustment_rate", 0.1), term("reporting.max_adjustment_rate", 0.1, "")]
    found = match(
        [r], facts, engine=ENGINE, contract_names={**NAMES, "": "项目整体"}, several_contracts=several_contracts
    )
    return [(m.subject, m.message) for m in found]


def test_a_contract_rule_never_matches_the_project_as_a_whole() -> None:
    assert scoped("contract") == [("adj:c1", "运维服务项目：预算调整率 30%。")]


def test_a_project_rule_matches_only_the_project_as_a_whole() -> None:
    assert scoped("project") == [("adj:all", "项目整体：预算调整率 20%。")]


def test_a_rule_of_both_scopes_matches_each_contract_and_the_whole_project_when_it_has_several() -> None:
    assert scoped("both") == [("adj:all", "项目整体：预算调整率 20%。"), ("adj:c1", "运维服务项目：预算调整率 30%。")]
    # with one contract, the project as a whole is that contract: one finding, not two
    assert scoped("both", several_contracts=False) == [("adj:c1", "运维服务项目：预算调整率 30%。")]


def test_a_number_with_places_but_no_kind_drops_trailing_zeros() -> None:
    assert (format_value(509.4, ".3"), format_value(-456.375, ".3"), format_value(2.0, ".4")) == (
        "509.4",
        "-456.375",
        "2",
    )
    assert format_value(509.4, ".3f") == "509.400"


# ---------------------------------------------------------------- message forms, subjects, computed values


SOME = "{contract.vendor}：仅 {matched.value:d} 人（{matched.items}），余 {all.value - matched.value:d} 人"


def test_a_message_has_forms_chosen_by_their_condition_and_may_compute_a_value() -> None:
    r = rule(
        bind={"matched": {"measure": "m.matched"}, "all": {"measure": "m.all"}},
        when="matched.value < all.value",
        subject="names",
        message=[
            {"when": "matched.value == 0", "text": "{contract.name}：无一相符"},
            {"text": SOME},
        ],
    )
    none = match([r], [measure("m.matched", 0), measure("m.all", 3)], engine=ENGINE, contract_names=NAMES)
    some = match(
        [r],
        [measure("m.matched", 2, items="张三、李四"), measure("m.all", 3)],
        engine=ENGINE,
        contract_names=NAMES,
        contract_vendors={"c1": "某公司"},
    )
    assert [(m.message, m.subject) for m in none] == [("运维服务项目：无一相符", "names")]
    assert [m.message for m in some] == ["某公司：仅 2 人（张三、李四），余 1 人"]


def test_a_subject_template_names_the_finding_after_the_facts_subject() -> None:
    r = rule(
        bind={"present": {"measure": "m.p"}},
        when="present.value < 1",
        subject="role:{present.subject}",
        message="{present.subject}无人",
    )
    found = match([r], [measure("m.p", 0, subject="项目经理")], engine=ENGINE, contract_names=NAMES)
    assert [m.subject for m in found] == ["role:项目经理"]


@pytest.mark.parametrize(
    ("fields", "loc", "words"),
    [
        ({"when": "late.items == 'x'"}, ("when",), "is text for messages"),
        ({"message": [{"text": "a"}, {"text": "b"}]}, ("message", 0), "but the last has a 'when'"),
        ({"message": [{"when": "late.value > 1", "text": "a"}]}, ("message", 0), "but the last has a 'when'"),
        ({"message": [{"when": "late.valu > 1", "text": "a"}, {"text": "b"}]}, ("message", 0, "when"), "no field"),
        ({"measured": "{late.value + 'x'}"}, ("measured",), "nor arithmetic"),
        ({"advice": "建议{contract.vendr}整改"}, ("advice",), "contract.vendor"),
    ],
)
def test_bad_message_forms_and_computed_values_are_refused_with_their_field(
    fields: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(RuleProblem) as caught:
        check_rule(rule(**fields))
    assert caught.value.loc == loc
    assert words in caught.value.message


def test_a_rule_is_checked_once_per_definition_and_again_when_it_changes() -> None:
    first = rule(when="late.value > params.max_late", params={"max_late": 0})
    assert check_rule(first) is check_rule(first.model_copy())  # the same definition: the same check
    changed = first.model_copy(update={"params": {"max_late": 3}})
    assert check_rule(changed) is not check_rule(first)
    assert check_rule(changed).rule.params == {"max_late": 3}
    broken = rule(when="late.value > params.nowhere")
    for _ in range(2):  # a rule that fails its check fails every time it is asked
        with pytest.raises(RuleProblem, match="nowhere"):
            check_rule(broken)
