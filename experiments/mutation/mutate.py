"""A small AST mutator: list the mutants of one Python source and render any one of them.

Operators (each mutant changes one node inside a function body; docstrings, ``raise``
statements, f-strings and annotations are left alone):

- ``cmp``: ``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``is`` <-> ``is not``,
  ``in`` <-> ``not in``;
- ``binop``: ``+`` <-> ``-``, ``*`` <-> ``/``, ``//`` -> ``/``, ``**`` -> ``*``;
- ``operand``: ``a + b`` / ``a * b`` -> ``a`` or ``b`` (the injected bug of issue 17,
  ``w[a + order[lo:hi]]`` -> ``w[order[lo:hi]]``, is one of these);
- ``int``: an integer constant ``n`` -> ``n + 1``;
- ``slice``: a slice bound ``lo`` -> ``lo + 1``;
- ``neg``: drop a unary minus, ``not``;
- ``bool``: ``and`` <-> ``or``;
- ``return``: ``return x`` -> ``return None``;
- ``augop`` / ``drop``: ``x += y`` -> ``x -= y``; an in-place update, a subscript or
  attribute assignment, or a call statement -> ``pass``.

Example
-------
>>> src = "def f(a, b):\\n    return a + b\\n"
>>> [m.kind for m in mutants(src)]
['return', 'binop', 'operand', 'operand']
>>> render(src, mutants(src)[1].index).strip().splitlines()[-1]
'return a - b'
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

__all__ = ["Mutant", "mutants", "render"]

_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BIN: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
}


@dataclass(frozen=True)
class Mutant:
    """One mutant: its position in the walk, the line, the operator kind and a description.

    ``key`` (``line:col:kind:detail``) is stable while the module's text does not change, and
    is what the equivalents list names.
    """

    index: int
    line: int
    col: int
    kind: str
    detail: str

    @property
    def key(self) -> str:
        return f"{self.line}:{self.col}:{self.kind}:{self.detail}"


class _Walker(ast.NodeTransformer):
    """Visit mutable nodes in a fixed order; count them, or apply the one at ``target``."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.found: list[Mutant] = []
        self.depth = 0  # function nesting

    # -- bookkeeping -------------------------------------------------------------------
    def _offer(self, node: ast.AST, kind: str, detail: str) -> bool:
        """Record a mutant; True when it is the one to apply."""
        m = Mutant(
            len(self.found),
            getattr(node, "lineno", 0),
            getattr(node, "col_offset", 0),
            kind,
            detail,
        )
        self.found.append(m)
        return m.index == self.target

    # -- places not mutated --------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.depth += 1
        body = node.body
        start = (
            1
            if body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
            else 0
        )
        node.body = body[:start] + self._stmts(body[start:])
        self.depth -= 1
        return node

    def _stmts(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            new = self.visit(s)
            if isinstance(new, list):
                out.extend(new)
            elif new is not None:
                out.append(new)
        return out or [ast.Pass()]

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_arguments(self, node: ast.arguments) -> ast.AST:
        return node  # defaults and annotations

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.body = [self.visit(s) for s in node.body]
        return node

    # -- statements ------------------------------------------------------------------------
    def _maybe_drop(self, node: ast.stmt, detail: str) -> ast.stmt | None:
        if self.depth and self._offer(node, "drop", detail):
            return ast.copy_location(ast.Pass(), node)
        return None

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        dropped = self._maybe_drop(node, "augassign")
        if dropped is not None:
            return dropped
        swap = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
        new_op = swap.get(type(node.op))
        if self.depth and new_op is not None and self._offer(node, "augop", new_op.__name__):
            node.op = new_op()
            return node
        self.generic_visit(node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(isinstance(t, ast.Subscript | ast.Attribute) for t in node.targets):
            dropped = self._maybe_drop(node, "assign")
            if dropped is not None:
                return dropped
        self.generic_visit(node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Call):
            dropped = self._maybe_drop(node, "call")
            if dropped is not None:
                return dropped
        self.generic_visit(node)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        if (
            self.depth
            and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
            and self._offer(node, "return", "None")
        ):
            node.value = ast.Constant(None)
            return node
        self.generic_visit(node)
        return node

    # -- expressions -----------------------------------------------------------------------
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        if self.depth:
            for i, op in enumerate(node.ops):
                new = _CMP.get(type(op))
                if new is not None and self._offer(node, "cmp", f"{i}:{new.__name__}"):
                    node.ops[i] = new()
                    return node
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if self.depth:
            new = _BIN.get(type(node.op))
            if new is not None and self._offer(node, "binop", new.__name__):
                node.op = new()
                return node
            if isinstance(node.op, ast.Add | ast.Mult):
                if self._offer(node, "operand", "left"):
                    return node.left
                if self._offer(node, "operand", "right"):
                    return node.right
        self.generic_visit(node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if self.depth and isinstance(node.op, ast.USub | ast.Not):
            if self._offer(node, "neg", type(node.op).__name__):
                return node.operand
        self.generic_visit(node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        if self.depth:
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            if self._offer(node, "bool", new.__name__):
                node.op = new()
                return node
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        v = node.value
        if self.depth and isinstance(v, int) and not isinstance(v, bool):
            if self._offer(node, "int", f"{v}->{v + 1}"):
                return ast.copy_location(ast.Constant(v + 1), node)
        return node

    def visit_Slice(self, node: ast.Slice) -> ast.AST:
        if self.depth:
            for name in ("lower", "upper"):
                bound = getattr(node, name)
                if bound is not None and not isinstance(bound, ast.Constant):
                    if self._offer(bound, "slice", f"{name}+1"):
                        setattr(node, name, ast.BinOp(bound, ast.Add(), ast.Constant(1)))
                        return node
        self.generic_visit(node)
        return node


def mutants(source: str) -> list[Mutant]:
    """Every mutant of ``source``, in walk order; a key met again (nested nodes starting at the
    same column, e.g. ``a + b + 1``) gets ``#2``, ``#3``... so keys are unique."""
    w = _Walker(None)
    w.visit(ast.parse(source))
    seen: dict[str, int] = {}
    out = []
    for m in w.found:
        seen[m.key] = seen.get(m.key, 0) + 1
        n = seen[m.key]
        out.append(m if n == 1 else Mutant(m.index, m.line, m.col, m.kind, f"{m.detail}#{n}"))
    return out


def render(source: str, index: int) -> str:
    """``source`` with mutant ``index`` applied (comments and formatting are not kept)."""
    tree = ast.parse(source)
    w = _Walker(index)
    new = w.visit(copy.deepcopy(tree))
    if index >= len(w.found):
        raise IndexError(f"mutant index {index} is beyond the {len(w.found)} mutants of the source")
    return ast.unparse(ast.fix_missing_locations(new))
