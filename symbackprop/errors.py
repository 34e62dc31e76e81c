"""The errors a user can cause, each with a message that says what to do.

>>> raise ParseError("unknown function 'foo'", column=1)
Traceback (most recent call last):
...
symbackprop.errors.ParseError: column 1: unknown function 'foo'
"""
from __future__ import annotations


class SymbackpropError(Exception):
    """Base class for every error symbackprop raises on purpose."""


class ParseError(SymbackpropError, ValueError):
    """Typed text could not be read; `column` (1-based) points at the spot, `line` for programs."""

    def __init__(self, message: str, column: int | None = None, line: int | None = None):
        self.reason = message
        self.column = column
        self.line = line
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class GraphError(SymbackpropError, ValueError):
    """A graph was asked for something it does not have (an unknown node, a variable it does not use)."""
