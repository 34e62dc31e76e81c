"""The `symbackprop` command line.

    symbackprop explain "cos(sin(x^2) + 3x^2)" --at x=1/2
    symbackprop explain --steps forward.txt --wrt x --format markdown
    symbackprop explain --example two_layer_net --json

Exit codes: 0 success, 2 bad input (the message says what and where; never a traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from .errors import SymbackpropError
from .examples import EXAMPLES, example
from .explanation import explain
from .graph import Graph
from .parse import LIMITS, parse_expr
from .render import PRINTERS


def _subcommands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Other subcommands, each `add_parser(subparsers)` in its own module (imported lazily).

    Each added parser sets a `run` default: a function of the parsed arguments returning an exit code.
    """
    found: list[Callable[[argparse._SubParsersAction], None]] = []
    # (subcommand modules add themselves here, one line each)
    found.append(__import__(f"{__package__}.exercises.cli", fromlist=["add_parser"]).add_parser)
    found.append(__import__(f"{__package__}.check_cli", fromlist=["add_parser"]).add_parser)
    return found


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read(LIMITS.max_length * 10 + 1)
    file = Path(path)
    if not file.is_file():
        raise SymbackpropError(f"no such file: {path}")
    if file.stat().st_size > LIMITS.max_length * 10:
        raise SymbackpropError(f"{path} is larger than {LIMITS.max_length * 10} bytes")
    return file.read_text(encoding="utf-8", errors="replace")


def _point(text: str) -> dict[str, object]:
    """`a=1/2,b=2` → {"a": 1/2, "b": 2}, each value read by the safe parser."""
    point = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SymbackpropError(f"--at expects name=value pairs such as x=1/2, got {part!r}")
        point[name.strip()] = parse_expr(value)
    return point


def _graph(args: argparse.Namespace) -> Graph:
    chosen = [bool(args.expr), bool(args.steps), bool(args.example)]
    if sum(chosen) != 1:
        raise SymbackpropError("give exactly one of: an expression, --steps FILE, --example NAME")
    if args.expr:
        return Graph.from_expr(args.expr, output=args.output)
    if args.steps:
        return Graph.from_steps(_read_text(args.steps))
    return example(args.example)


def run_explain(args: argparse.Namespace) -> int:
    graph = _graph(args)
    wrt = [w.strip() for w in args.wrt.split(",") if w.strip()] if args.wrt else None
    at = _point(args.at) if args.at else None
    print(PRINTERS["json" if args.json else args.format](explain(graph, wrt=wrt, at=at)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symbackprop", description="Backpropagation, node by node, "
                                     "checked against direct differentiation.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("explain", help="forward table, backward pass, gradient and its check",
                       description="Show every node, local derivative and += of the backward pass.")
    p.add_argument("expr", nargs="?", help='an expression such as "cos(sin(x^2) + 3x^2)"')
    p.add_argument("--steps", metavar="FILE", help="a forward program, one 'name = expression' per line ('-' = stdin)")
    p.add_argument("--example", metavar="NAME", choices=sorted(EXAMPLES), help="one of: " + ", ".join(EXAMPLES))
    p.add_argument("--wrt", metavar="a,b", help="variables to differentiate with respect to (default: parameters)")
    p.add_argument("--at", metavar="a=1/2,b=2", help="evaluate everything exactly at this point")
    p.add_argument("--output", default="J", help="name of the output node for an expression (default J)")
    p.add_argument("--format", choices=sorted(PRINTERS), default="text")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(run=run_explain)
    for add in _subcommands():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SymbackpropError as error:
        print(f"symbackprop: error: {error}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError):
        print("symbackprop: error: the input is too large or too deeply nested", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a sympy failure on odd input: still a message, never a traceback
        print(f"symbackprop: error: could not process this input ({type(error).__name__}: {error})",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
