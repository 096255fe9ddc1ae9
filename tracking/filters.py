"""MLflow's search grammar parsed into a small AST (never into SQL text).

    filter   := or_expr
    or_expr  := and_expr (OR and_expr)*
    and_expr := atom (AND atom)*
    atom     := '(' or_expr ')' | ident comparator value | ident IS [NOT] NULL
              | ident [NOT] IN '(' value (',' value)* ')'
    ident    := [entity '.'] key      (entity bare or `quoted`; key bare, `quoted` or "quoted")
    entity   := metrics | params | tags | attributes (and singular forms)
    order_by := ident [ASC|DESC]

One tokenizer and parser serve every searchable entity; a ``Grammar`` says which entity
prefixes an entity's filters may use and whether OR is allowed (runs and experiments use
``RUN_GRAMMAR``; the registry's models and versions allow only ``tags.`` and AND, as MLflow's
``SearchModelVersionUtils`` narrows ``SearchUtils``). ``tracking.search`` maps the tree to SQL.

Errors are ``FilterSyntaxError`` carrying the offending token and its position. A filter may
nest parentheses ``MAX_FILTER_DEPTH`` deep and hold ``MAX_FILTER_CLAUSES`` comparisons, so no
input exhausts Python's stack or the database's expression-tree limit (SQLite's is 1000).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracking.exceptions import FilterSyntaxError

ENTITY_ALIASES = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
TAG_ALIASES = {"tag": "tag", "tags": "tag"}
MAX_FILTER_DEPTH = 32
MAX_FILTER_CLAUSES = 200
KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op>>=|<=|!=|<>|==|=|>|<)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<squote>'(?:[^'\\]|\\.|'')*')
  | (?P<dquote>"(?:[^"\\]|\\.|"")*")
  | (?P<bentity>`[A-Za-z_]+`\.)
  | (?P<bquote>`(?:[^`]|``)*`)
  | (?P<word>[A-Za-z_][\w.\-:]*)
  """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Grammar:
    """What one kind of entity's filters may say.

    ``entities`` maps the accepted prefixes (lower case) to an entity; a bare name is always an
    attribute. ``int_literals`` reads ``3`` as an int (``3.0`` stays a float) for entities with
    integer fields; otherwise every number is a float.
    """

    entities: Mapping[str, str]
    entity_hint: str
    allow_or: bool = True
    int_literals: bool = False


RUN_GRAMMAR = Grammar(ENTITY_ALIASES, "metrics., params., tags. or attributes.")


@dataclass(frozen=True)
class Token:
    kind: str  # number | op | lparen | rparen | comma | squote | dquote | bquote | bentity
    # | word | end
    text: str
    pos: int

    @property
    def keyword(self) -> str | None:
        if self.kind == "word" and self.text.upper() in KEYWORDS:
            return self.text.upper()
        return None


@dataclass(frozen=True)
class Identifier:
    """``entity`` is metric | param | tag | attribute; ``pos`` points at the identifier."""

    entity: str
    key: str
    pos: int
    text: str
    source: str = ""


@dataclass(frozen=True)
class Comparison:
    ident: Identifier
    op: str  # = != > >= < <= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL
    value: Any  # float | str | tuple | None
    value_token: Token | None
    op_token: Token | None = None


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple


@dataclass(frozen=True)
class OrderClause:
    ident: Identifier
    ascending: bool


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character raises at its position."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(
                f"cannot parse: unexpected character {text[pos]!r} at position {pos}",
                text,
                pos,
                text[pos],
            )
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    quote = token.text[0]
    body = body.replace(quote * 2, quote)
    if quote != "`":
        body = re.sub(r"\\(.)", r"\1", body)
    return body


class _Parser:
    def __init__(self, text: str, what: str, grammar: Grammar) -> None:
        self.text = text
        self.what = what
        self.grammar = grammar
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.clauses = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        token = token or self.tok
        shown = token.text or "end of input"
        return FilterSyntaxError(
            f"invalid {self.what}: {message} (at {shown!r}, position {token.pos})",
            self.text,
            token.pos,
            token.text,
        )

    def entity(self, prefix: str, token: Token) -> str:
        entity = self.grammar.entities.get(prefix.lower())
        if entity is None:
            raise self.error(
                f"unknown entity type {prefix!r}; use {self.grammar.entity_hint}", token
            )
        return entity

    # identifiers ---------------------------------------------------------------------------
    def identifier(self) -> Identifier:
        token = self.tok
        previous = self.tokens[self.i - 1].keyword if self.i else None
        if token.kind == "end" and previous in ("AND", "OR"):
            raise self.error(f"dangling {previous}: a condition must follow it")
        if token.kind == "bentity":
            return self.backticked_entity(token)
        if token.kind == "bquote" or token.kind == "dquote":
            self.advance()
            return Identifier("attribute", _unquote(token), token.pos, token.text, self.text)
        if token.kind != "word" or token.keyword:
            raise self.error(f"expected a field name, or a key after {self.grammar.entity_hint}")
        self.advance()
        word = token.text
        if "." not in word:
            return Identifier("attribute", word, token.pos, word, self.text)
        prefix, key = word.split(".", 1)
        entity = self.entity(prefix, token)
        if key == "":
            nxt = self.tok
            if nxt.kind not in ("bquote", "dquote"):
                raise self.error(f"expected a key after {word!r}")
            self.advance()
            key = _unquote(nxt)
            return Identifier(entity, key, token.pos, word + nxt.text, self.text)
        return Identifier(entity, key, token.pos, word, self.text)

    def backticked_entity(self, token: Token) -> Identifier:
        """`` `metric`.a `` or `` `tags`.`source name` `` (as MLflow's grammar accepts)."""
        entity = self.entity(token.text[1:-2], token)
        self.advance()
        nxt = self.tok
        if nxt.pos != token.pos + len(token.text) or nxt.kind not in ("word", "bquote", "dquote"):
            raise self.error(f"expected a key right after {token.text!r}")
        self.advance()
        key = nxt.text if nxt.kind == "word" else _unquote(nxt)
        return Identifier(entity, key, token.pos, token.text + nxt.text, self.text)

    # filters -------------------------------------------------------------------------------
    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.tok.keyword == "OR":
            if not self.grammar.allow_or:
                raise self.error("OR is not supported here; run one search per alternative")
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Any:
        items = [self.atom()]
        while self.tok.keyword == "AND":
            self.advance()
            items.append(self.atom())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def atom(self) -> Any:
        if self.tok.kind == "lparen":
            if self.depth >= MAX_FILTER_DEPTH:
                raise self.error(
                    f"parentheses nest deeper than the limit of {MAX_FILTER_DEPTH}; "
                    "flatten the filter"
                )
            self.depth += 1
            opening = self.advance()
            inner = self.or_expr()
            self.depth -= 1
            if self.tok.kind != "rparen":
                raise self.error(f"expected ')' to close the '(' at position {opening.pos}")
            self.advance()
            return inner
        self.clauses += 1
        if self.clauses > MAX_FILTER_CLAUSES:
            raise self.error(
                f"more than the limit of {MAX_FILTER_CLAUSES} comparisons; split the search or "
                "use IN (...) for many values"
            )
        ident = self.identifier()
        token = self.tok
        if token.kind == "op":
            self.advance()
            op = {"==": "=", "<>": "!="}.get(token.text, token.text)
            return Comparison(ident, op, *self.value(), token)
        keyword = token.keyword
        if keyword in ("LIKE", "ILIKE"):
            self.advance()
            return Comparison(ident, keyword, *self.value(), token)
        if keyword == "IS":
            self.advance()
            negate = False
            if self.tok.keyword == "NOT":
                self.advance()
                negate = True
            if self.tok.keyword != "NULL":
                raise self.error("expected NULL after IS / IS NOT")
            self.advance()
            return Comparison(ident, "IS NOT NULL" if negate else "IS NULL", None, token, token)
        if keyword == "NOT":
            self.advance()
            if self.tok.keyword == "IN":
                self.advance()
                return Comparison(ident, "NOT IN", *self.value_list(), token)
            if self.tok.keyword in ("LIKE", "ILIKE"):
                raise self.error("NOT LIKE is not supported; use != or a positive LIKE")
            raise self.error("expected IN after NOT")
        if keyword == "IN":
            self.advance()
            return Comparison(ident, "IN", *self.value_list(), token)
        raise self.error(
            f"expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL) after "
            f"{ident.text!r}"
        )

    def value(self) -> tuple[Any, Token]:
        token = self.tok
        if token.kind == "number":
            self.advance()
            if self.grammar.int_literals and re.fullmatch(r"[-+]?\d+", token.text):
                return int(token.text), token
            return float(token.text), token
        if token.kind in ("squote", "dquote"):
            self.advance()
            return _unquote(token), token
        missing = "; missing value at the end" if token.kind == "end" else ""
        raise self.error(f"expected a value: a number or a quoted string{missing}")

    def value_list(self) -> tuple[tuple, Token]:
        start = self.tok
        if start.kind != "lparen":
            raise self.error("expected '(' starting a value list")
        self.advance()
        if self.tok.kind == "rparen":
            raise self.error("empty IN list; give at least one value")
        values = [self.value()[0]]
        while self.tok.kind == "comma":
            self.advance()
            values.append(self.value()[0])
        if self.tok.kind == "end":
            raise self.error(f"unterminated IN list: no ')' closes the '(' at position {start.pos}")
        if self.tok.kind != "rparen":
            raise self.error("expected ',' or ')' in the value list")
        self.advance()
        return tuple(values), start

    def expect_end(self) -> None:
        if self.tok.kind != "end":
            if self.tok.keyword is None and self.tok.kind == "word":
                raise self.error("expected AND/OR between conditions")
            raise self.error("unexpected token")


def parse_filter(text: str | None, grammar: Grammar = RUN_GRAMMAR) -> Any:
    """Parse a filter string into an AST (None when empty)."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter_string", grammar)
    tree = parser.or_expr()
    parser.expect_end()
    return tree


def parse_order_by(
    clauses: list[str] | tuple[str, ...] | str | None, grammar: Grammar = RUN_GRAMMAR
) -> list[OrderClause]:
    """Parse ``["metrics.rmse ASC", "start_time DESC", ...]``."""
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    result = []
    for clause in clauses:
        if not isinstance(clause, str) or not clause.strip():
            raise FilterSyntaxError(f"invalid order_by: clause {clause!r} is empty")
        parser = _Parser(clause, "order_by", grammar)
        ident = parser.identifier()
        ascending = True
        if parser.tok.keyword in ("ASC", "DESC"):
            ascending = parser.advance().keyword == "ASC"
        if parser.tok.kind != "end":
            raise parser.error("direction must be ASC or DESC (or left out)")
        result.append(OrderClause(ident, ascending))
    return result
