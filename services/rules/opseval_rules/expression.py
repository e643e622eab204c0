"""The condition language of a rule: a small typed expression tree, parsed here (never `eval`).

    condition   := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum         := product (("+" | "-") product)*
    product     := unary (("*" | "/") unary)*
    unary       := "-" unary | atom
    atom        := number ["%"] | 'text' | "text" | true | false | name ("." name)* | "(" condition ")"

`×` `÷` `−` `≥` `≤` `≠` are accepted for `*` `/` `-` `>=` `<=` `!=`; `90%` is 0.9. A name is resolved
by the rule that owns the condition (a bound fact's field, `params.X`, `terms.X`): every name,
operator and operand type is checked before anything is compiled, and an error says what is wrong
and at which position (1-based column) of the expression.

Values are of three types: number, text and flag (true/false). Arithmetic and order comparisons take
numbers; `==`/`!=` take two values of one type; and/or/not take flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Type = Literal["number", "text", "flag"]
CompareOp = Literal["<", "<=", ">", ">=", "==", "!="]
ArithOp = Literal["+", "-", "*", "/"]

TYPE_NAMES: dict[str, str] = {"number": "数值 (number)", "text": "文本 (text)", "flag": "是/否 (flag)"}


class ExpressionError(ValueError):
    """A problem in an expression, at a 1-based column of it."""

    def __init__(self, message: str, column: int, source: str) -> None:
        self.problem, self.column, self.source = message, column, source
        super().__init__(f"{message} (column {column} of {source!r})")


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Literal_:
    value: float | str | bool
    type: Type
    pos: int = 0


@dataclass(frozen=True)
class Ref:
    """A resolved name: `scope` is "fact" (a bound fact's field), "param", "term", or what only a
    message may name: "context" (`contract.id`, `contract.name`, `contract.vendor`, `rule.id`,
    `rule.name`), "list" (`lists.NAME`) and "record" (a field of a listed record)."""

    scope: Literal["fact", "param", "term", "context", "list", "record"]
    name: str
    field: str
    type: Type
    pos: int = 0

    @property
    def text(self) -> str:
        if self.scope == "param":
            return f"params.{self.name}"
        if self.scope == "term":
            return f"terms.{self.name}"
        return f"{self.name}.{self.field}"


@dataclass(frozen=True)
class Negate:
    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class Arith:
    op: ArithOp
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class Logic:
    op: Literal["and", "or"]
    items: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int = 0


Node = Literal_ | Ref | Negate | Arith | Compare | Logic | Not

# A resolver turns the parts of a dotted name into a `Ref` (or raises ExpressionError via `fail`).
Resolver = Callable[[tuple[str, ...], int], Ref]


# ---------------------------------------------------------------- tokens

_ALIASES = {"×": "*", "÷": "/", "−": "-", "≥": ">=", "≤": "<=", "≠": "!="}
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?%?)
  | (?P<text>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|==|!=|[<>+\-*/()×÷−≥≤≠])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, text, name, op, keyword, end
    text: str
    pos: int  # 0-based


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while at < len(source):
        match = _TOKEN.match(source, at)
        if match is None:
            char = source[at]
            if char in "'\"":
                raise ExpressionError(f"text not closed: add the closing {char}", at + 1, source)
            hint = "; to compare write '=='" if char == "=" else ""
            hint = "; write and/or/not" if char in "&|!" else hint
            raise ExpressionError(f"unexpected character {char!r}{hint}", at + 1, source)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind == "op":
            text = _ALIASES.get(text, text)
        if kind != "space":
            out.append(_Token(kind, text, at))
        at = match.end()
    out.append(_Token("end", "", len(source)))
    return out


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str, resolve: Resolver) -> None:
        self.source = source
        self.resolve = resolve
        self.tokens = _tokens(source)
        self.at = 0

    def fail(self, message: str, pos: int) -> ExpressionError:
        return ExpressionError(message, pos + 1, self.source)

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, kind: str, *texts: str) -> _Token | None:
        token = self.token
        if token.kind == kind and (not texts or token.text in texts):
            self.at += 1
            return token
        return None

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.fail("empty condition", 0)
        node = self.or_()
        if self.token.kind != "end":
            raise self.fail(f"unexpected {self.token.text!r}: expected an operator or the end", self.token.pos)
        return node

    def or_(self) -> Node:
        first = self.and_()
        items = [first]
        while self.accept("keyword", "or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Logic("or", tuple(items), _pos(first))

    def and_(self) -> Node:
        first = self.not_()
        items = [first]
        while self.accept("keyword", "and"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else Logic("and", tuple(items), _pos(first))

    def not_(self) -> Node:
        token = self.accept("keyword", "not")
        if token:
            return Not(self.not_(), token.pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum_()
        token = self.accept("op", "<", "<=", ">", ">=", "==", "!=")
        if token is None:
            return left
        right = self.sum_()
        if self.token.kind == "op" and self.token.text in ("<", "<=", ">", ">=", "==", "!="):
            raise self.fail("comparisons do not chain: write 'a < b and b < c'", self.token.pos)
        return Compare(token.text, left, right, token.pos)  # type: ignore[arg-type]

    def sum_(self) -> Node:
        node = self.product()
        while token := self.accept("op", "+", "-"):
            node = Arith(token.text, node, self.product(), token.pos)  # type: ignore[arg-type]
        return node

    def product(self) -> Node:
        node = self.unary()
        while token := self.accept("op", "*", "/"):
            node = Arith(token.text, node, self.unary(), token.pos)  # type: ignore[arg-type]
        return node

    def unary(self) -> Node:
        token = self.accept("op", "-")
        if token:
            return Negate(self.unary(), token.pos)
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            if token.text.endswith("%"):
                return Literal_(float(token.text[:-1]) / 100, "number", token.pos)
            return Literal_(float(token.text), "number", token.pos)
        if token.kind == "text":
            body = re.sub(r"\\(.)", r"\1", token.text[1:-1])
            return Literal_(body, "text", token.pos)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return Literal_(token.text == "true", "flag", token.pos)
        if token.kind == "name":
            return self.resolve(tuple(token.text.split(".")), token.pos)
        if token.kind == "op" and token.text == "(":
            node = self.or_()
            if not self.accept("op", ")"):
                raise self.fail(f"expected ')' to close the '(' at column {token.pos + 1}", self.token.pos)
            return node
        if token.kind == "end":
            raise self.fail("the expression ends too early: a value is missing", token.pos)
        raise self.fail(f"unexpected {token.text!r}: expected a value", token.pos)


def _pos(node: Node) -> int:
    return node.pos


def start(node: Node) -> int:
    """Where a node's text begins (0-based): its leftmost operand for an operator."""
    if isinstance(node, Arith | Compare):
        return start(node.left)
    if isinstance(node, Logic):
        return start(node.items[0])
    return node.pos


def parse(source: str, resolve: Resolver) -> Node:
    """Parse and resolve every name; types are checked by `check`."""
    return _Parser(source, resolve).parse()


# ---------------------------------------------------------------- types


def type_of(node: Node, source: str) -> Type:
    """The type of a node; raises ExpressionError at the first operand of the wrong type."""

    def fail(message: str, pos: int) -> ExpressionError:
        return ExpressionError(message, pos + 1, source)

    def need(child: Node, want: Type, what: str) -> None:
        got = type_of(child, source)
        if got != want:
            raise fail(f"{what} needs a {TYPE_NAMES[want]}, got a {TYPE_NAMES[got]} ({_describe(child)})", start(child))

    if isinstance(node, Literal_ | Ref):
        return node.type
    if isinstance(node, Negate):
        need(node.operand, "number", "'-'")
        return "number"
    if isinstance(node, Arith):
        need(node.left, "number", f"'{node.op}'")
        need(node.right, "number", f"'{node.op}'")
        return "number"
    if isinstance(node, Compare):
        left = type_of(node.left, source)
        if node.op in ("==", "!="):
            need(node.right, left, f"'{node.op}' with a {TYPE_NAMES[left]} on its left")
        else:
            need(node.left, "number", f"'{node.op}'")
            need(node.right, "number", f"'{node.op}'")
        return "flag"
    if isinstance(node, Logic):
        for item in node.items:
            need(item, "flag", f"'{node.op}'")
        return "flag"
    need(node.operand, "flag", "'not'")
    return "flag"


def _describe(node: Node) -> str:
    if isinstance(node, Ref):
        return node.text
    if isinstance(node, Literal_):
        return repr(node.value)
    return "an expression"


def check_condition(node: Node, source: str) -> None:
    """A condition is a flag: a comparison, a flag value, or and/or/not of those."""
    got = type_of(node, source)
    if got != "flag":
        raise ExpressionError(
            f"a condition must be true or false (a comparison such as 'late.value > 0'), not a {TYPE_NAMES[got]}",
            start(node) + 1,
            source,
        )


# ---------------------------------------------------------------- rewriting


def refs(node: Node) -> list[Ref]:
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Literal_):
        return []
    if isinstance(node, Negate | Not):
        return refs(node.operand)
    if isinstance(node, Arith | Compare):
        return refs(node.left) + refs(node.right)
    return [r for item in node.items for r in refs(item)]


def substitute(node: Node, value_of: Callable[[Ref], Node]) -> Node:
    """Replace each Ref by what `value_of` gives (itself, or a Literal_ for a parameter)."""
    if isinstance(node, Ref):
        return value_of(node)
    if isinstance(node, Literal_):
        return node
    if isinstance(node, Negate):
        return Negate(substitute(node.operand, value_of), node.pos)
    if isinstance(node, Not):
        return Not(substitute(node.operand, value_of), node.pos)
    if isinstance(node, Arith):
        return Arith(node.op, substitute(node.left, value_of), substitute(node.right, value_of), node.pos)
    if isinstance(node, Compare):
        return Compare(node.op, substitute(node.left, value_of), substitute(node.right, value_of), node.pos)
    return Logic(node.op, tuple(substitute(i, value_of) for i in node.items), node.pos)


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}
_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def fold(node: Node, source: str) -> Node:
    """Compute what has no fact in it (literals and parameters), as the compiler must: durable_rules
    evaluates arithmetic only when it refers to a fact (`2 + 3` alone never matches)."""
    if isinstance(node, Literal_ | Ref):
        return node
    if isinstance(node, Negate):
        inner = fold(node.operand, source)
        if isinstance(inner, Literal_):
            return Literal_(-float(inner.value), "number", node.pos)
        return Negate(inner, node.pos)
    if isinstance(node, Arith):
        left, right = fold(node.left, source), fold(node.right, source)
        if isinstance(left, Literal_) and isinstance(right, Literal_):
            if node.op == "/" and float(right.value) == 0:
                raise ExpressionError("division by zero", node.pos + 1, source)
            return Literal_(_ARITH[node.op](float(left.value), float(right.value)), "number", node.pos)
        return Arith(node.op, left, right, node.pos)
    if isinstance(node, Compare):
        left, right = fold(node.left, source), fold(node.right, source)
        if isinstance(left, Literal_) and isinstance(right, Literal_):
            return Literal_(_COMPARE[node.op](left.value, right.value), "flag", node.pos)
        return Compare(node.op, left, right, node.pos)
    if isinstance(node, Not):
        inner = fold(node.operand, source)
        if isinstance(inner, Literal_):
            return Literal_(not inner.value, "flag", node.pos)
        return Not(inner, node.pos)
    items: list[Node] = []
    for item in (fold(i, source) for i in node.items):
        if isinstance(item, Literal_):
            if bool(item.value) == (node.op == "or"):
                return Literal_(node.op == "or", "flag", node.pos)  # true or …, false and …
            continue  # false or …, true and …: drop
        items.append(item)
    if not items:
        return Literal_(node.op == "and", "flag", node.pos)
    return items[0] if len(items) == 1 else Logic(node.op, tuple(items), node.pos)


_NEGATED: dict[str, CompareOp] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def negation_normal_form(node: Node, negate: bool = False) -> Node:
    """Push every `not` down to the comparisons (De Morgan; `not a > b` is `a <= b`), since a
    durable_rules pattern has no `not` of its own. A bare flag value becomes `x == true`."""
    if isinstance(node, Not):
        return negation_normal_form(node.operand, not negate)
    if isinstance(node, Logic):
        op: Literal["and", "or"] = ("or" if node.op == "and" else "and") if negate else node.op
        return Logic(op, tuple(negation_normal_form(i, negate) for i in node.items), node.pos)
    if isinstance(node, Compare):
        return Compare(_NEGATED[node.op] if negate else node.op, node.left, node.right, node.pos)
    if isinstance(node, Literal_):
        return Literal_(not node.value if negate else node.value, "flag", node.pos)
    # a flag-valued reference
    return Compare("!=" if negate else "==", node, Literal_(True, "flag", node.pos), node.pos)
