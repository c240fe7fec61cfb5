"""Syntactic positions of the nodes migls reports on, computed in one code-generation pass.

LibCST's ``PositionProvider`` records a ``CodeRange`` for every node of the tree through a
generator-based context manager; on real revision files that costs about twice the parse
itself. The rules only ever report on a few node types, so this state records positions for
those (and for explicitly requested nodes) only. The ranges are exactly the ones
``PositionProvider`` gives (the test suite checks this on real files).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

Position = tuple[int, int]

#: Node types whose positions are always recorded.
RECORDED_TYPES: frozenset[type[cst.CSTNode]] = frozenset({
    cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef, cst.With, cst.If, cst.For,
    cst.While, cst.Try, cst.Call, cst.Arg, cst.SimpleString, cst.ConcatenatedString,
    cst.Tuple, cst.List, cst.Attribute, cst.Import, cst.ImportFrom,
})

_NOTHING = nullcontext()


class _PositionState(CodegenState):
    """A codegen state that tracks line/column and records the wanted nodes' ranges."""

    def __init__(self, module: cst.Module, extra: set[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent,
                         default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.extra = extra
        self.ranges: dict[cst.CSTNode, tuple[Position, Position]] = {}
        self.order: list[cst.CSTNode] = []
        self._starts: list[Position] = []

    def _wanted(self, node: cst.CSTNode) -> bool:
        return type(node) in RECORDED_TYPES or node in self.extra

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        newlines = value.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - value.rfind("\n") - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self._wanted(node):
            self._starts.append((self.line, self.column))
            self.order.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if self._wanted(node):
            start = self._starts.pop()
            self.ranges.setdefault(node, (start, (self.line, self.column)))

    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Any:
        if self._wanted(node):
            return self._record(node, start_node, end_node)
        return _NOTHING

    @contextmanager
    def _record(self, node: cst.CSTNode, start_node: cst.CSTNode | None,
                end_node: cst.CSTNode | None) -> Iterator[None]:
        # The hoisted start/end come from children generated inside this block.
        if start_node is not None:
            self.extra.add(start_node)
        if end_node is not None:
            self.extra.add(end_node)
        start = (self.line, self.column)
        yield
        end = (self.line, self.column)
        if start_node is not None:
            start = self.ranges[start_node][0]
        if end_node is not None:
            end = self.ranges[end_node][1]
        self.ranges[node] = (start, end)


def compute_positions(module: cst.Module, extra: set[cst.CSTNode]
                      ) -> tuple[dict[cst.CSTNode, tuple[Position, Position]], list[cst.CSTNode]]:
    """Ranges ``((line, column), (end_line, end_column))`` of the recorded nodes, and those
    nodes in source order (the pass doubles as the model's tree walk).

    Lines are 1-based, columns 0-based code points, as LibCST's ``PositionProvider``.
    """
    state = _PositionState(module, set(extra))
    module._codegen(state)
    return state.ranges, state.order
