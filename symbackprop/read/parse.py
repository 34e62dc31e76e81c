"""One safe parser for everything a user types: expressions and short forward programs.

Typed text is untrusted. It is never passed to `eval`: a small tokenizer adds the multiplication
signs students leave out (`3x^2`, `2 x`, `2(x+1)`, `sin x`), turns `^` into `**`, and hands the result
to Python's `ast` parser only for its grammar. The tree is then walked with a whitelist, and the sympy
expression is built node by node, so nothing the user wrote is ever executed. Size, nesting depth,
literal sizes and exponents are bounded, so `9**9**9` is refused instead of computed.

>>> parse_expr("cos(sin(x^2) + 3x^2)")
cos(3*x**2 + sin(x**2))
>>> parse_expr("0.5 x")
x/2
>>> parse_program("t = x^2\\nJ = cos(t)")
[('t', x**2), ('J', cos(t))]
>>> parse_expr("factorial(10**9)")
Traceback (most recent call last):
...
symbackprop.errors.ParseError: column 1: unknown function 'factorial' (known: ...)
"""
from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping

import sympy as sp

from ..errors import ParseError
from ..functions import relu, sigmoid, softplus
from .policy import GREEK, INVERSES, Reading, normalize, split_word


@dataclass(frozen=True)
class Limits:
    """Bounds on the cost of one piece of typed text."""

    max_length: int = 10_000  # characters of one expression or program
    max_depth: int = 60  # nesting of parentheses and operators
    max_digits: int = 60  # digits of a number literal
    max_exponent: int = 1_000  # |n| in x**n, and size of a numeric power's result (digits)
    max_symbolic_exponent: int = 100_000  # |n| in (x - a)**n, whose values at exact points stay cheap
    max_lines: int = 500  # assignments in a forward program


LIMITS = Limits()

FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "acot": sp.acot, "asec": sp.asec, "acsc": sp.acsc,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "arccot": sp.acot, "arcsec": sp.asec,
    "arccsc": sp.acsc, "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "acoth": sp.acoth,
    "asech": sp.asech, "acsch": sp.acsch, "arsinh": sp.asinh, "arcosh": sp.acosh, "artanh": sp.atanh,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "sech": sp.sech, "csch": sp.csch, "coth": sp.coth,
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs, "Abs": sp.Abs,
    "erf": sp.erf, "sign": sp.sign, "sgn": sp.sign, "cotan": sp.cot, "cosec": sp.csc, "cosech": sp.csch,
    "ctg": sp.cot, "arcsinh": sp.asinh, "arccosh": sp.acosh, "arctanh": sp.atanh,
    "root": sp.sqrt, "atan2": sp.atan2, "arctan2": sp.atan2, "Max": sp.Max, "Min": sp.Min, "max": sp.Max, "min": sp.Min,
    "sigmoid": sigmoid, "σ": sigmoid, "relu": relu, "ReLU": relu, "softplus": softplus,
}
ARITY = {"Max": (1, 8), "Min": (1, 8), "max": (1, 8), "min": (1, 8), "log": (1, 2), "root": (1, 2), "atan2": (2, 2),
         "arctan2": (2, 2)}
CONSTANTS: dict[str, sp.Expr] = {"e": sp.E, "E": sp.E, "pi": sp.pi, "π": sp.pi}

_PYTHON_WORDS = {"lambda": "lambda expressions", "for": "comprehensions", "in": "comprehensions",
                 "if": "conditional expressions", "else": "conditional expressions",
                 "and": "boolean operators", "or": "boolean operators", "not": "boolean operators",
                 "is": "comparisons", "await": "'await'", "yield": "'yield'", "import": "imports",
                 "None": "None", "True": "booleans", "False": "booleans"}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|//|==|<=|>=|!=|:=|[-+*/^(),=<>%.\[\]{}:;@~&|!'"`\\$#?])
""", re.VERBOSE)
_LOG_BASE = re.compile(r"^(?:log|ln)_([^\W_]+)$")


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | op | func (a known function) | call (an unknown name right before '(')
    text: str
    column: int  # 1-based column in the user's text
    shown: str = ""  # how it prints in a reading (numbers as typed)
    base: "_Token | None" = None  # log_2 x: the base
    chosen: bool = False  # the token comes from a reading that was a choice (2xy split into 2, x, y)


def _tokenize(text: str, limits: Limits) -> list[_Token]:
    plain, columns = normalize(text)
    tokens, pos = [], 0
    while pos < len(plain):
        m = _TOKEN.match(plain, pos)
        column = columns[pos] if pos < len(columns) else len(text)
        if m is None:
            raise ParseError(f"unexpected character {plain[pos]!r}", column=column)
        kind = m.lastgroup
        if kind == "op" and m.group() in "'\"`":
            raise ParseError("strings (quotes) are not allowed in an expression", column=column)
        if kind == "op" and m.group() in "\\$#?!;@~&%`":
            raise ParseError(f"unexpected character {m.group()!r}", column=column)
        if kind != "space":
            tokens.append(_Token(kind, m.group(), column, m.group()))
        pos = m.end()
    depth = 0
    for tok in tokens:
        depth += tok.text in "(["
        depth -= tok.text in ")]"
        if depth > limits.max_depth:
            raise ParseError(f"parentheses nested more than {limits.max_depth} deep", column=tok.column)
    return tokens


def _adjacent(tok: _Token, nxt: _Token | None) -> bool:
    return nxt is not None and nxt.column == tok.column + len(tok.text)


def _ends_operand(tok: _Token) -> bool:
    return tok.kind == "number" or (tok.kind == "name" and tok.text not in _PYTHON_WORDS) or tok.text == ")"


def _starts_operand(tok: _Token) -> bool:
    return tok.kind in ("number", "func", "call") or (tok.kind == "name" and tok.text not in _PYTHON_WORDS) \
        or tok.text in ("(", "|")


_RUNS = re.compile(r"[^\W\d_]+|\d+")


def _words(tokens: list[_Token], declared: set[str], words: str) -> list[_Token]:
    """Apply the reading policy to names: functions, log bases, `y^*`, `a[0]`, and runs of letters as
    products (`words`: "letters" splits any unknown run, "known" only into known names, "names" never)."""
    known = set(declared) | set(CONSTANTS) | GREEK | {t.text for t in tokens if t.kind == "name" and len(t.text) == 1}
    functions = set(FUNCTIONS)
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if tok.kind == "name" and nxt is not None and nxt.text == "[" and _adjacent(tok, nxt):
            close = tokens[i + 3] if i + 3 < len(tokens) else None
            if after is None or after.kind not in ("name", "number") or close is None or close.text != "]":
                raise ParseError("an index in [...] may be one number or name (a[0] is a_0)", column=tok.column)
            tokens = tokens[:i] + [_Token("name", f"{tok.text}_{after.text}", tok.column,
                                          f"{tok.text}[{after.text}]")] + tokens[i + 4:]
            continue  # a[0] is the name a_0, as in code
        if tok.text in "[]" and tok.kind == "op":
            out.append(_Token("op", "(" if tok.text == "[" else ")", tok.column, tok.text))
            i += 1
            continue
        if tok.kind == "name" and nxt is not None and nxt.text == "^" and after is not None and after.text == "*" \
                and (i + 3 >= len(tokens) or not _starts_operand(tokens[i + 3])):
            out.append(_Token("name", tok.text + "_star", tok.column, tok.text + "^*"))  # the slides' y^*
            i += 3
            continue
        if tok.kind != "name" or tok.text in declared:
            out.append(tok)
            i += 1
            continue
        if tok.text in functions:
            out.append(_Token("func", tok.text, tok.column, tok.text))
            i += 1
            continue
        base = _LOG_BASE.match(tok.text)
        if base and words != "names":
            digits = base.group(1)
            kind = "number" if digits.isdigit() else "name"
            out.append(_Token("func", "log", tok.column, f"log_{digits}", _Token(kind, digits, tok.column, digits)))
            i += 1
            continue
        alias = _alias(tok.text, declared) if words != "names" else None
        if alias is not None:  # theta1 for the declared theta_1, w_1 for w1
            out.append(_Token("name", alias, tok.column, alias, chosen=True))
            i += 1
            continue
        runs = _RUNS.findall(tok.text) if words != "names" and "_" not in tok.text else []
        if len(runs) == 2 and runs[0] in ("log", "ln") and runs[1].isdigit() and nxt is not None \
                and _starts_operand(nxt):  # log10(x), log2 x (but ln2 is ln(2))
            base = _Token("number", runs[1], tok.column, runs[1])
            out.append(_Token("func", "log", tok.column, f"log_{runs[1]}", base))
            i += 1
            continue
        if len(runs) > 1 and (runs[0] in functions if words == "letters" else all(
                r.isdigit() or r in known or r in functions or split_word(r, known, functions, strict=True)
                for r in runs)):  # sin2x, 3cos3x, ln2; in an answer x2^x is x·2^x
            parts, column = [], tok.column
            for run in runs:
                kind = "number" if run.isdigit() else "name"
                parts.append(_Token(kind, run, column, run, chosen=kind == "number"))
                column += len(run)
            tokens = tokens[:i] + parts + tokens[i + 1:]
            continue
        followed = nxt is not None and (_starts_operand(nxt) or nxt.text in ("^", "**"))
        call = nxt is not None and nxt.text == "(" and _adjacent(tok, nxt)
        pieces = None if words == "names" else split_word(
            tok.text, known, functions, followed=followed, strict=call or words == "known")
        if pieces is None:  # one name; `foo(` is a call (the builder names the unknown function)
            call = call and len(tok.text) > 1 and "_" not in tok.text.strip("_")
            out.append(_Token("call", tok.text, tok.column, tok.text) if call else tok)
        else:
            column = tok.column
            for piece in pieces:
                if piece in functions:
                    out.append(_Token("func", piece, column, piece))
                else:
                    out.append(_Token("name", piece, column, piece, chosen=True))
                column += len(piece)
        i += 1
    return out


def _alias(name: str, declared: set[str]) -> str | None:
    """The declared name `name` is another spelling of: `theta1` or `θ1` for theta_1, `w_1` for w1."""
    m = re.fullmatch(r"([^\W\d_]+)_?(\d+)", name)
    if m is None:
        return None
    for other in (f"{m.group(1)}_{m.group(2)}", f"{m.group(1)}{m.group(2)}"):
        if other != name and other in declared:
            return other
    return None


class _Emitter:
    """Python source for the tokens (with `*` for implicit products, `**` for `^`, calls for functions applied
    without parentheses), the user's column for each piece, and the reading as it will be shown."""

    def __init__(self, tokens: list[_Token], limits: Limits = LIMITS):
        self.tokens = tokens
        self.limits = limits
        self.depth = 0
        self.i = 0
        self.out: list[tuple[str, int, str]] = []  # (python, column, shown)
        self.choice = False
        self.raised = False  # the operand just read ends in a power (x^2): a letter after it is a choice

    def peek(self, k: int = 0) -> _Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def emit(self, text: str, column: int, shown: str | None = None) -> None:
        self.out.append((text, column, text if shown is None else shown))

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        if tok.chosen:
            self.choice = True
        return tok

    def capture(self, method, *args) -> list[tuple[str, int, str]]:
        """The pieces `method` emits, taken aside (to be placed later, e.g. a function's power)."""
        saved, self.out = self.out, []
        try:
            method(*args)
            return self.out
        finally:
            self.out = saved

    def sequence(self, closing: str | None = None) -> None:
        """Tokens up to the closing bracket (not consumed) or the end."""
        prev: _Token | None = None
        divided = False  # the operand just read follows a '/'
        raised = False  # the operand just read ends in a power
        while self.i < len(self.tokens):
            tok = self.tokens[self.i]
            if tok.text == ")" and tok.kind == "op" and closing is not None:
                if closing == "|":
                    raise ParseError("a '|' is not closed before this ')'", column=tok.column)
                return
            if tok.text == "|" and closing == "|" and prev is not None and _ends_operand(prev):
                return
            if prev is not None and _ends_operand(prev) and _starts_operand(tok):
                self.emit("*", tok.column, "·")
                self.choice = self.choice or divided or (raised and tok.text != "(")  # 1/2x is (1/2)·x, e^2x is e²·x
            operand = _starts_operand(tok)
            divided = operand and prev is not None and prev.text == "/"
            self.raised = False
            prev = self.operand() if operand else self.operator()
            raised = operand and self.raised

    def operator(self) -> _Token:
        tok = self.take()
        self.emit("**" if tok.text == "^" else tok.text, tok.column, "^" if tok.text in ("^", "**") else
                  "·" if tok.text == "*" else tok.shown or tok.text)
        return tok

    def group(self, closing: str) -> None:
        """`( ... )` or `| ... |`, the opening token current."""
        opening = self.take()
        self.emit("Abs(" if closing == "|" else "(", opening.column, "|" if closing == "|" else "(")
        self.sequence(closing)
        end = self.peek()
        if end is None or end.text != closing:
            return  # left open: the grammar reports the missing bracket
        self.take()
        self.emit(")", end.column, "|" if closing == "|" else ")")

    def atom(self) -> _Token:
        """A number, a name, a bracketed group or a function application; returns its last token."""
        tok = self.peek()
        if tok.kind == "func":
            return self.application()
        if tok.text == "(":
            self.group(")")
            return _Token("op", ")", tok.column)
        if tok.text == "|":
            self.group("|")
            return _Token("op", ")", tok.column)
        tok = self.take()
        self.emit(tok.text, tok.column, tok.shown or tok.text)
        return tok

    def operand(self) -> _Token:
        """An atom and its powers (`x^2`, `e^-x`, `x^y^z`)."""
        self.depth += 1
        try:
            if self.depth > self.limits.max_depth:
                raise ParseError(f"the expression is nested more than {self.limits.max_depth} deep "
                                 "(brackets, bars, powers or functions)", column=self.peek().column)
            return self._operand()
        finally:
            self.depth -= 1

    def _operand(self) -> _Token:
        last = self.atom()
        raised = False
        while self.peek() is not None and self.peek().text in ("^", "**") and self.peek(1) is not None:
            tok = self.take()
            self.emit("**", tok.column, "^")
            last = self.power_operand()
            raised = True
        self.raised = raised
        return last

    def power_operand(self) -> _Token:
        tok = self.peek()
        if tok.text in ("+", "-"):
            self.take()
            self.emit(tok.text, tok.column)
            if self.peek() is None:
                return tok
        if self.peek() is None or not _starts_operand(self.peek()):
            return self.operator() if self.peek() is not None else tok
        return self.operand()

    def juxtaposed(self) -> None:
        """The argument of a function written without parentheses: a product without operators."""
        tok = self.peek()
        if tok.text in ("+", "-"):
            self.take()
            self.emit(tok.text, tok.column)
        first, start = True, len(self.out)
        while self.peek() is not None and _starts_operand(self.peek()) and (first or self.peek().kind != "func"):
            if not first:
                self.emit("*", self.peek().column, "·")
            self.operand()
            first = False
            bare_number = len(self.out) == start + 1 and self.tokens[self.i - 1].kind == "number"
            if bare_number and self.peek() is not None and self.peek().text == "*" and self.peek(1) is not None \
                    and _starts_operand(self.peek(1)) and self.peek(1).kind != "func":
                self.take()  # `cos 2*x` is cos(2x): a bare number is not all of the argument
                first = True
                self.emit("*", self.tokens[self.i - 1].column, "·")

    def application(self) -> _Token:
        """`sin(x)`, `sin x`, `sin 2x`, `sin^2 x`, `sin^-1 x`, `log_2 x`."""
        fn = self.take()
        power: list[tuple[str, int, str]] | None = None
        if self.peek() is not None and self.peek().text in ("^", "**") and self.peek(1) is not None:
            self.take()
            power = self.capture(self.power_operand)
            self.choice = True
        nxt = self.peek()
        signed = nxt is not None and nxt.text in ("+", "-") and self.peek(1) is not None \
            and _starts_operand(self.peek(1))
        if nxt is None or not (_starts_operand(nxt) or signed):
            if power is not None:
                raise ParseError(f"'{fn.shown}^...' needs an argument", column=fn.column)
            self.emit(fn.text, fn.column, fn.shown)  # the builder says: write sin(...)
            return fn
        if nxt.text == "(":  # a call: the arguments in their own brackets
            argument = self.capture(self.group, ")")
        else:
            before = self.i
            argument = [("(", nxt.column, "(")] + self.capture(self.juxtaposed) + [(")", nxt.column, ")")]
            after = self.peek()
            if self.i - before > 1 or fn.base is not None or (after is not None and after.text in ("*", "/")):
                self.choice = True  # `sin x*y`: sin(x)·y, not sin(x·y), is worth saying
        name, shown = fn.text, fn.shown
        inverse = power is not None and "".join(p[2] for p in power).replace(" ", "") in ("-1", "(-1)")
        if inverse:
            if fn.text not in INVERSES:
                raise ParseError(f"{fn.shown}^-1 is ambiguous: write 1/{fn.shown}(...) or the inverse function",
                                 column=fn.column)
            name = shown = INVERSES[fn.text]
            power = None
        if fn.base is not None:  # log_b(x) is log(x, b)
            argument = argument[:-1] + [(",", fn.column, ""), (fn.base.text, fn.column, ""), (")", fn.column, ")")]
            self.choice = True
            shown = f"log_{fn.base.shown}"
        self.emit(name, fn.column, shown)
        self.out.extend(argument)
        if power is not None:
            self.emit("**", fn.column, "^")
            self.out.extend(power)
        return _Token("op", ")", fn.column)


def _to_python(tokens: list[_Token], limits: Limits = LIMITS) -> tuple[str, list[int], str | None]:
    """Python source for the tokens, the user's column for every character of it, and the reading as
    shown to the user when it was a choice (None otherwise)."""
    emitter = _Emitter(tokens, limits)
    emitter.sequence()
    while emitter.i < len(tokens):  # a stray ')' or '|': keep it for the grammar's message
        emitter.operator()
        emitter.sequence()
    out = [p[0] for p in emitter.out]
    cols = [p[1] for p in emitter.out]
    spread = _spread(out, [c for p, c in zip(out, cols) for _ in p])
    return " ".join(out), spread, _shown(emitter.out) if emitter.choice else None


def _shown(pieces: list[tuple[str, int, str]]) -> str:
    """The reading as text: products as ·, powers as ^, spaces around + and - between operands."""
    parts: list[str] = []
    for k, (python, _, shown) in enumerate(pieces):
        if shown in ("+", "-") and k and pieces[k - 1][0] not in ("(", ",", "**", "*", "/", "+", "-"):
            parts.append(f" {shown} ")
        elif shown == ",":
            parts.append(", ")
        else:
            parts.append(shown)
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    """Drop brackets that say nothing: around one name or number, doubled, or around everything.

    >>> _tidy("((1)/(4·x·y))"), _tidy("e^(x^(2))"), _tidy("sin(x)")
    ('1/(4·x·y)', 'e^(x^2)', 'sin(x)')
    """
    while True:
        stack, pairs = [], {}
        for k, ch in enumerate(text):
            if ch == "(":
                stack.append(k)
            elif ch == ")" and stack:
                pairs[stack.pop()] = k
        for i, j in pairs.items():
            inner = text[i + 1:j]
            called = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
            if (i == 0 and j == len(text) - 1) or (not called and (
                    re.fullmatch(r"[\w.]+", inner) or (inner.startswith("(") and pairs.get(i + 1) == j - 1))):
                text = text[:i] + inner + text[j + 1:]
                break
        else:
            return text


def _spread(parts: list[str], cols: list[int]) -> list[int]:
    """Columns for `" ".join(parts)`: each joining space takes the column of the next part."""
    spread, k = [], 0
    for n, part in enumerate(parts):
        if n:
            spread.append(cols[k])
        spread.extend(cols[k:k + len(part)])
        k += len(part)
    return spread


def _number(text: str, column: int, limits: Limits) -> sp.Rational:
    """A literal as an exact rational: `0.1` is 1/10, `1e-3` is 1/1000."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ParseError(f"cannot read the number {text!r}", column=column) from None
    sign, digits, exponent = value.as_tuple()
    if len(digits) > limits.max_digits or abs(exponent) > limits.max_digits:
        raise ParseError(f"the number {text[:20]!r}{'...' if len(text) > 20 else ''} is out of range "
                         f"(at most {limits.max_digits} digits and exponents up to {limits.max_digits})",
                         column=column)
    num, den = value.as_integer_ratio()
    return sp.Rational(num, den)


class _Builder:
    """Walks a whitelisted Python AST and builds the sympy expression."""

    def __init__(self, symbols: Mapping[str, sp.Symbol], real: bool, cols: list[int], limits: Limits):
        self.symbols = dict(symbols)
        self.real = real
        self.cols = cols
        self.limits = limits
        self.names: set[str] = set()  # every name the text uses, even one that cancels (0*c)

    def where(self, node: ast.AST) -> int | None:
        off = getattr(node, "col_offset", None)
        if off is None:
            return None
        return self.cols[min(off, len(self.cols) - 1)] if self.cols else 1

    def fail(self, message: str, node: ast.AST):
        raise ParseError(message, column=self.where(node))

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > self.limits.max_depth:
            self.fail(f"expression nested more than {self.limits.max_depth} deep", node)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            self.fail(_DESCRIBE.get(type(node).__name__, f"'{type(node).__name__}' is not allowed"), node)
        return method(node, depth + 1)

    def _Constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        if isinstance(node.value, str):
            self.fail("strings are not allowed in an expression", node)
        self.fail(f"{node.value!r} is not a number", node)  # numbers never reach ast (see _Name)

    def _Name(self, node: ast.Name, depth: int) -> sp.Expr:
        name = node.id
        if name.startswith("_NUM"):
            return self.numbers[int(name[4:])]
        if name in FUNCTIONS:
            self.fail(f"'{name}' is a function: write {name}(...)", node)
        if name in self.symbols:
            self.names.add(name)
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name.startswith("__"):
            self.fail(f"the name '{name}' is not allowed", node)
        symbol = sp.Symbol(name, real=True) if self.real else sp.Symbol(name)
        self.symbols[name] = symbol
        self.names.add(name)
        return symbol

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        operand = self.build(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        self.fail("only + and - may stand before a value", node)

    def _BinOp(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = type(node.op).__name__
        if op not in ("Add", "Sub", "Mult", "Div", "Pow"):
            symbol = {"FloorDiv": "//", "Mod": "%", "MatMult": "@", "BitXor": "^", "BitAnd": "&", "BitOr": "|",
                      "LShift": "<<", "RShift": ">>"}.get(op, op)
            self.fail(f"the operator {symbol} is not allowed (use + - * / ^)", node)
        left = self.build(node.left, depth)
        right = self.build(node.right, depth)
        if op == "Add":
            return left + right
        if op == "Sub":
            return left - right
        if op == "Mult":
            return self._bounded(left * right, node)
        if op == "Div":
            if right.is_zero:
                self.fail("division by zero", node)
            return self._bounded(left / right, node)
        return self._power(left, right, node)

    def _power(self, base: sp.Expr, exponent: sp.Expr, node: ast.AST) -> sp.Expr:
        limit = self.limits.max_exponent if base.is_number else self.limits.max_symbolic_exponent
        if exponent.is_Rational and (abs(exponent.p) > limit or exponent.q > limit):
            self.fail(f"the exponent {_short(exponent)} is too large (at most {limit})", node)
        limit = self.limits.max_exponent
        if exponent.is_Rational and base.is_Rational and base != 0:
            size = max(abs(base.p), base.q)
            digits = abs(exponent.p) * len(str(size)) / exponent.q
            if digits > limit:
                self.fail(f"{_short(base)}^{_short(exponent)} would have about {int(digits)} digits "
                          f"(at most {limit})", node)
        if base.is_zero and exponent.is_negative:
            self.fail("division by zero (0 to a negative power)", node)
        if exponent.is_Rational:
            digits, power = _raised_cost(base, exponent)
            if digits > limit:
                self.fail(f"({_short(base)})^{_short(exponent)} would hold a number of about {int(digits)} digits "
                          f"(at most {limit})", node)
            if power > self.limits.max_symbolic_exponent:
                self.fail(f"({_short(base)})^{_short(exponent)} would raise a variable to the power "
                          f"{_short(sp.Integer(int(power)))} (at most {self.limits.max_symbolic_exponent})", node)
        return sp.Pow(base, exponent)

    def _bounded(self, product: sp.Expr, node: ast.AST) -> sp.Expr:
        """A product whose numeric coefficient stays within the digit limit (3^1000 · 3^1000 · ...)."""
        coefficient = product.as_coeff_Mul()[0] if product.is_Mul or product.is_Rational else sp.S.One
        if coefficient.is_Rational and _digits(coefficient) > self.limits.max_exponent:
            self.fail(f"a number of about {int(_digits(coefficient))} digits (at most {self.limits.max_exponent})",
                      node)
        return product

    def _Call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            self.fail("only named functions such as sin(x) may be called", node)
        name = node.func.id
        if name not in FUNCTIONS:
            self.fail(f"unknown function '{name}' (known: {', '.join(sorted(set(FUNCTIONS) - {'σ'}))})", node)
        if node.keywords:
            self.fail(f"keyword arguments are not allowed in {name}(...)", node.keywords[0].value)
        lo, hi = ARITY.get(name, (1, 1))
        if not lo <= len(node.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            self.fail(f"{name} takes {want} argument{'s' if hi > 1 else ''}, got {len(node.args)}", node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail("starred arguments are not allowed", arg)
        args = [self.build(a, depth) for a in node.args]
        if name == "root" and len(args) == 2:  # root(x, n) = x^(1/n), within the bounds on powers
            if args[1].is_zero:
                self.fail("root(x, 0) is not defined", node)
            return self._power(args[0], 1 / args[1], node)
        if name in ("log", "ln") and len(args) == 2:
            return sp.log(args[0], args[1])
        return FUNCTIONS[name](*args)


_DESCRIBE = {
    "Attribute": "attribute access (a.b) is not allowed",
    "Subscript": "subscripts (a[...]) are not allowed; write a_1 for an index",
    "Lambda": "lambda expressions are not allowed",
    "ListComp": "comprehensions are not allowed", "SetComp": "comprehensions are not allowed",
    "DictComp": "comprehensions are not allowed", "GeneratorExp": "comprehensions are not allowed",
    "List": "lists are not allowed", "Tuple": "tuples (a, b) are not allowed", "Set": "sets are not allowed",
    "Dict": "dictionaries are not allowed", "Compare": "comparisons are not allowed in an expression",
    "BoolOp": "boolean operators are not allowed", "IfExp": "conditional expressions are not allowed",
    "NamedExpr": "assignment expressions (:=) are not allowed", "Starred": "starred expressions are not allowed",
    "JoinedStr": "strings are not allowed in an expression", "Await": "'await' is not allowed",
    "Yield": "'yield' is not allowed", "Slice": "slices are not allowed",
}


def _digits(number: sp.Rational) -> float:
    """Decimal digits of the larger of numerator and denominator (from bit lengths: no printing)."""
    return max(int(number.p).bit_length(), int(number.q).bit_length()) * 0.30103


def _raised_cost(base: sp.Expr, exponent: sp.Rational) -> tuple[float, float]:
    """(digits of the largest number, largest |power| of a variable) that sympy computes for base**exponent:
    an integer power is distributed over a product and multiplies the powers inside, so
    ((x·3^1000)^1000)^1000 asks for 3^(10^9) and x^(10^9)."""
    if base.is_Rational:
        return _digits(base) * abs(exponent), 0
    if base.is_Pow and base.exp.is_Rational and exponent.is_Integer:
        digits, power = _raised_cost(base.base, base.exp * exponent)
        return digits, max(power, abs(base.exp * exponent))
    if base.is_Mul and exponent.is_Integer:
        costs = [_raised_cost(factor, exponent) for factor in base.args]
        return max(c[0] for c in costs), max(c[1] for c in costs)
    return 0, 0  # (x - a)^6000 stays as it is: nothing is combined


def _short(value: sp.Expr) -> str:
    text = str(value)
    return text if len(text) <= 20 else text[:17] + "..."


def _syntax_message(error: SyntaxError, source: str, cols: list[int], tokens: list[_Token]) -> ParseError:
    offset = (error.offset or 1) - 1
    column = cols[min(offset, len(cols) - 1)] if cols else 1
    last = tokens[-1] if tokens else None
    if last is not None and last.text in ("+", "-", "*", "/", "^", "**", "("):
        return ParseError(f"the expression ends with '{last.text}': something is missing after it",
                          column=last.column)
    msg = (error.msg or "invalid syntax").replace("invalid syntax. Perhaps you forgot a comma?", "invalid syntax")
    if "unexpected EOF" in msg or "was never closed" in msg or (offset >= len(source) and source):
        opened = sum(t.text == "(" for t in tokens) - sum(t.text == ")" for t in tokens)
        if opened > 0:
            return ParseError(f"{opened} parenthesis{'es' if opened > 1 else ''} not closed", column=column)
        return ParseError("the expression ends too early", column=column)
    if "unmatched ')'" in msg:
        return ParseError("unmatched ')'", column=column)
    if "too many nested parentheses" in msg:
        return ParseError("parentheses nested too deep", column=column)
    return ParseError(f"cannot read this ({msg})", column=column)


def _check_words(tokens: list[_Token]) -> None:
    for tok in tokens:
        if tok.kind == "name" and tok.text in _PYTHON_WORDS:
            raise ParseError(f"{_PYTHON_WORDS[tok.text]} are not allowed here ('{tok.text}')", column=tok.column)
        if tok.kind == "name" and tok.text.startswith("_"):
            raise ParseError(f"names may not start with '_' ('{tok.text}')", column=tok.column)
        if tok.text == "=":
            raise ParseError("'=' is not allowed inside an expression (keyword arguments or assignments)",
                             column=tok.column)


def check_text(text: object, limits: Limits = LIMITS) -> None:
    """The first gate for anything typed: text, not too long, no NUL bytes."""
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > limits.max_length:
        raise ParseError(f"the input is {len(text)} characters long (at most {limits.max_length})")
    if "\x00" in text:
        raise ParseError("the input contains a NUL byte", column=text.index("\x00") + 1)


def parse_expr(text: str, symbols: Mapping[str, sp.Symbol] | None = None, *, real: bool = True,
               limits: Limits = LIMITS, words: str | None = None) -> sp.Expr:
    """Read one expression typed by a user, safely (the reading policy is in `symbackprop.read.policy`).

    `symbols` maps the declared names to the sympy symbols to use for them (the function's variables,
    earlier nodes of a program); other names become new symbols, real unless `real=False`. `words` says
    how a run of letters that is not a known name is read: "letters" (a function typed as text: a product
    of its letters, `2xy`), "known" (an answer: a product only of declared and known names, else one
    name), "names" (a forward program: always one name, as in code). By default, "known" when `symbols`
    are given, else "letters".

    >>> parse_expr("2 sin x cos x")
    2*sin(x)*cos(x)
    >>> parse_expr("e^(-a)")
    exp(-a)
    >>> parse_expr("3x^2 + 2xy + y^2")
    3*x**2 + 2*x*y + y**2
    """
    return read_expr(text, symbols, real=real, limits=limits, words=words).expr


def read_expr(text: str, symbols: Mapping[str, sp.Symbol] | None = None, *, real: bool = True,
              limits: Limits = LIMITS, words: str | None = None) -> Reading:
    """`parse_expr`, and how the text was read where the reading was a choice.

    >>> read_expr("sin 2x").read_as, read_expr("sin(2x)").read_as
    ('sin(2·x)', None)
    >>> read_expr("2xy", {"xy": sp.Symbol("xy")}).expr
    2*xy
    """
    check_text(text, limits)
    if not text.strip():
        raise ParseError("the expression is empty")
    tokens = _tokenize(text, limits)
    _check_words(tokens)
    numbers: list[sp.Rational] = []

    def placeholder(tok: _Token) -> _Token:  # numbers travel as placeholders: ast never sees a literal
        numbers.append(_number(tok.text, tok.column, limits))
        return _Token("number", f"_NUM{len(numbers) - 1}", tok.column, tok.text, chosen=tok.chosen)

    named = [placeholder(t) if t.kind == "number" else
             _Token(t.kind, t.text, t.column, t.shown, placeholder(t.base))
             if t.base is not None and t.base.kind == "number"
             else t for t in _words(tokens, set(symbols or ()), words or ("known" if symbols else "letters"))]
    try:
        source, cols, read_as = _to_python(named, limits)
    except RecursionError:
        raise ParseError("the expression is too deeply nested") from None
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise _syntax_message(error, source, cols, tokens) from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("the expression is too deeply nested") from None
    builder = _Builder(symbols or {}, real, cols, limits)
    builder.numbers = numbers
    try:
        return Reading(builder.build(tree.body), read_as, frozenset(builder.names))
    except RecursionError:
        raise ParseError("the expression is too deeply nested") from None


def name_as_read(name: str) -> str:
    """A name as expressions read it: θ₁ is theta_1, λ is lamda, and Python folds ﬁ to fi (NFKC).

    >>> name_as_read("θ₁"), name_as_read("ﬁ"), name_as_read("w2")
    ('theta_1', 'fi', 'w2')
    """
    return unicodedata.normalize("NFKC", normalize(name)[0])


_ASSIGNMENT = re.compile(r"^\s*(?P<name>[^\W\d]\w*)\s*(?P<op>=|\+=|-=|\*=)(?!=)\s*(?P<rhs>.*)$")


def parse_program(text: str, *, real: bool = True, limits: Limits = LIMITS) -> list[tuple[str, sp.Expr]]:
    """Read a forward program: one `name = expression` per line, `#` starts a comment.

    Names assigned earlier may be used later; `c += d` means `c = c + d`. The result pairs each
    assigned name with its right-hand side, written in the symbols of the names it reads (a reassigned
    name is read as its latest value; `Graph.from_steps` gives each assignment its own node).

    >>> parse_program("a = x*y\\nb = a + sin(a)  # fan-out")
    [('a', x*y), ('b', a + sin(a))]
    """
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > limits.max_length * 10:
        raise ParseError(f"the program is {len(text)} characters long (at most {limits.max_length * 10})")
    steps: list[tuple[str, sp.Expr]] = []
    symbols: dict[str, sp.Symbol] = {}
    assigned_at: dict[str, int] = {}  # name → the line it is first assigned on
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        if len(steps) >= limits.max_lines:
            raise ParseError(f"the program has more than {limits.max_lines} assignments", line=number)
        m = _ASSIGNMENT.match(line)
        if m is None:
            raise ParseError("expected an assignment such as 't = x^2'", line=number, column=1)
        name, op, rhs = name_as_read(m.group("name")), m.group("op"), m.group("rhs")
        if not re.fullmatch(r"[^\W\d]\w*", name):
            raise ParseError(f"'{m.group('name')}' cannot be a name (it reads as '{name}')", line=number, column=1)
        if name in FUNCTIONS or name in ("pi", "π") or name in _PYTHON_WORDS:
            raise ParseError(f"'{name}' is a reserved name and cannot be assigned", line=number, column=1)
        offset = m.start("rhs")
        try:
            value = parse_expr(rhs, symbols, real=real, limits=limits, words="names")
        except ParseError as error:
            column = None if error.column is None else error.column + offset
            raise ParseError(error.reason, line=number, column=column) from None
        if op != "=":
            current = symbols.get(name)
            if current is None:
                raise ParseError(f"'{name} {op} ...' needs an earlier value of '{name}'", line=number, column=1)
            value = {"+=": current + value, "-=": current - value, "*=": current * value}[op]
        for sym in value.free_symbols:  # later lines read the same symbol objects
            symbols.setdefault(sym.name, sym)
        symbols[name] = sp.Symbol(name, real=True) if real else sp.Symbol(name)
        assigned_at.setdefault(name, number)
        steps.append((name, value))
    if not steps:
        raise ParseError("the program has no assignments (write one 'name = expression' per line)")
    for name, constant, what in (("E", sp.E, "Euler's number e"), ("I", sp.I, "the imaginary unit")):
        if name in symbols and any(value.has(constant) for _, value in steps):  # E*e would print as E*E
            raise ParseError(f"'{name}' names a value here, but the program also uses {what}, which results "
                             f"write as {name}: give the value another name (such as {name}_1)",
                             line=assigned_at[name], column=1)
    return steps
