"""Printers: one model, many forms (text, Markdown, LaTeX, JSON, HTML, SVG). Printers never compute math.

They read an `Explanation` (graph, backward pass, verification, values) -- or just a `Graph` or a
`Backward` -- and lay it out like the slides: a forward table (node | definition | value), a backward
table (each `+=` with its local derivative and value), the gradients, direct differentiation, and the
verdict. `graph_svg` draws the computation graph: inputs left, output right, one edge per use.

>>> from symbackprop import Graph
>>> from symbackprop.explanation import explain
>>> print(to_text(explain(Graph.from_expr("x^2"), at={"x": 3})).splitlines()[0])
Forward pass (J = x**2)  at x = 3
"""
from __future__ import annotations

import html
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Union

import sympy as sp
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from .explanation import Explanation
from .functions import to_elementary

if TYPE_CHECKING:
    from .backward import AdjointStep, Backward
    from .graph import Graph

# --- names ----------------------------------------------------------------------------------------

_DECORATIONS = {"star": "^{*}", "hat": "hat", "bar": "bar", "tilde": "tilde"}


def _split_name(name: str) -> tuple[str, list[str]]:
    """`alpha_1_2` → ("alpha", ["1", "2"]); `u1` → ("u", ["1"])."""
    base, *subs = name.split("_")
    if len(base) > 1 and base[-1].isdigit() and not subs:
        digits = len(base) - len(base.rstrip("0123456789"))
        base, subs = base[:-digits], [base[-digits:]]
    return base, subs


@lru_cache(maxsize=4096)
def latex_name(name: str) -> str:
    """LaTeX for a node or input name: `alpha_1_2` → `\\alpha_{1,2}`, `y_star` → `y^{*}`, `u1` → `u_{1}`."""
    base, subs = _split_name(name)
    head = sp.latex(sp.Symbol(base)) if base else ""
    index = []
    for sub in subs:
        if sub in ("hat", "bar", "tilde"):
            head = rf"\{sub}{{{head}}}"
        elif sub == "star":
            head += "^{*}"
        else:
            index.append(sp.latex(sp.Symbol(sub)) if sub.isalpha() else sub)
    return head + (f"_{{{','.join(index)}}}" if index else "")


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_MARKS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}


@lru_cache(maxsize=4096)
def text_name(name: str) -> str:
    """Unicode for a name, for pictures and captions: `alpha_1_2` → `α₁,₂`, `y_star` → `y*`, `u1` → `u₁`.

    >>> text_name("alpha_1_2"), text_name("y_star"), text_name("u1"), text_name("y_hat")
    ('α₁,₂', 'y*', 'u₁', 'ŷ')
    """
    base, subs = _split_name(name)
    head = greek_unicode.get(base, base)
    index = []
    for sub in subs:
        if sub in _MARKS:
            head += _MARKS[sub]
        elif sub == "star":
            head += "*"
        elif sub.isdigit():
            index.append(sub.translate(_SUBSCRIPTS))
        else:
            index.append(greek_unicode.get(sub, sub))
    head, joined = unicodedata.normalize("NFC", head), ",".join(index)
    if joined.strip("₀₁₂₃₄₅₆₇₈₉,"):
        return f"{head}_{joined}"  # a subscript that is not all digits stays readable as _i
    return head + joined


class _TextPrinter(StrPrinter):
    """sympy's str printer with unicode names, `^` for powers and `·` for products."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return text_name(expr.name)


_TEXT_PRINTER = _TextPrinter()


def text_expr(expr: sp.Expr) -> str:
    """One line of readable text: `x**2*sin(t)` → `x^2·sin(t)`.

    >>> from symbackprop import parse_expr
    >>> text_expr(parse_expr("alpha_1_1*x_1 + 3t^2"))
    'α₁,₁·x₁ + 3·t^2'
    """
    return _TEXT_PRINTER.doprint(expr).replace("**", "^").replace("*", "·")


@lru_cache(maxsize=4096)
def adjoint_latex(output: sp.Symbol, of: sp.Symbol) -> str:
    return rf"\frac{{\partial {latex_name(output.name)}}}{{\partial {latex_name(of.name)}}}"


def local_latex(child: sp.Symbol, parent: sp.Symbol) -> str:
    """∂child/∂parent in LaTeX (the name of a local derivative)."""
    return rf"\frac{{\partial {latex_name(child.name)}}}{{\partial {latex_name(parent.name)}}}"


# --- what a printer reads: an Explanation, or a graph / backward pass with optional values -----------

@dataclass(frozen=True)
class View:
    """The parts of a worked example the table printers read (an `Explanation` has the same fields)."""

    graph: Graph
    backward: Backward | None = None
    at: dict[sp.Symbol, sp.Expr] | None = None
    values: dict[sp.Symbol, sp.Expr] | None = None

    def value(self, symbol: sp.Symbol) -> sp.Expr | None:
        return None if self.values is None else self.values.get(symbol)


Shown = Union[Explanation, View]


def view(model: Any, at: Mapping | None = None) -> Shown:
    """What to print for a `Graph`, `Backward` or `Explanation`; with `at`, values from the model's own pass.

    >>> from symbackprop import Graph
    >>> view(Graph.from_expr("x^2"), at={"x": 3}).values
    {x: 3, J: 9}
    """
    if isinstance(model, (Explanation, View)):
        return model
    from .backward import Backward
    if isinstance(model, Backward):
        return View(model.graph, model, None if at is None else model.graph.point(at),
                    None if at is None else model.values(at))
    return View(model, None, None if at is None else model.point(at), None if at is None else model.forward(at))


def _symbol_names(ex: Shown) -> dict[sp.Symbol, str]:
    """LaTeX for every symbol that can appear: inputs, nodes, and the adjoint symbols dJ_dv."""
    g, b = ex.graph, ex.backward
    names = {s: latex_name(s.name) for s in (*g.inputs, *(n.symbol for n in g.nodes))}
    if b is not None:
        for target in b.adjoints:
            names[b.adjoint_symbol(target)] = adjoint_latex(g.output, target)
    return names


def _text_names(ex: Shown) -> dict[sp.Symbol, sp.Symbol]:
    """dJ_dt printed as dJ/dt in text."""
    b = ex.backward
    return {} if b is None else {b.adjoint_symbol(t): sp.Symbol(f"d{ex.graph.output}/d{t}") for t in b.adjoints}


def _text(expr: sp.Expr, ex: Shown) -> str:
    return str(expr.xreplace(_text_names(ex)))


def _tex(expr: sp.Expr, ex: Shown) -> str:
    return sp.latex(expr, symbol_names=_symbol_names(ex))


@lru_cache(maxsize=8192)
def _float(value: sp.Expr) -> float | None:
    """The value as a float (17 digits of evaluation), or None if it is not a real number; cached, so the
    printers of one example evaluate each value once."""
    try:
        return float(sp.N(to_elementary(value), 17))
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=8192)
def _number_latex(value: sp.Expr) -> str:
    return sp.latex(value)


def _value_tex(value: sp.Expr, ex: Shown | None) -> str:
    """LaTeX of a value at a point (a number: no names to translate, so it is cached)."""
    return _number_latex(value) if ex is None or not value.free_symbols else _tex(value, ex)


def _approx(value: sp.Expr) -> str:
    if value.is_Rational:
        return str(value)
    number = _float(value)
    return str(value) if number is None else f"{str(value)}  ≈ {number:.10g}"


def _approx_tex(value: sp.Expr, ex: Shown) -> str:
    if value.is_Rational:
        return _value_tex(value, ex)
    number = _float(value)
    return _value_tex(value, ex) if number is None else rf"{_value_tex(value, ex)} \approx {number:.6g}"


def short_number(value: sp.Expr, digits: int = 4) -> str:
    """A value in a few characters: exact when a short rational, else `≈` and `digits` significant digits.

    >>> short_number(sp.Rational(1, 4)), short_number(sp.sin(1)), short_number(sp.Rational(1, 3))
    ('1/4', '≈ 0.8415', '1/3')
    """
    if value.is_Rational and len(str(value)) <= 9:
        return str(value)
    number = _float(value)
    return str(value) if number is None else f"≈ {number:.{digits}g}"


def short_number_latex(value: sp.Expr, ex: Shown | None = None, max_exact: int = 40) -> str:
    """LaTeX for a value: exact (and `≈` a decimal when not rational) while the exact form is short."""
    exact = _value_tex(value, ex)
    if value.is_Rational and len(exact) <= max_exact:
        return exact
    number = _float(value)
    if number is None:
        return exact
    return rf"{exact} \approx {number:.6g}" if len(exact) <= max_exact else rf"\approx {number:.6g}"


# --- rows shared by the table printers ------------------------------------------------------------

def forward_rows(ex: Shown) -> list[tuple[sp.Symbol, sp.Expr, sp.Expr | None]]:
    """(node, definition, value or None) in forward order."""
    return [(n.symbol, n.definition, ex.value(n.symbol)) for n in ex.graph.nodes]


def backward_rows(ex: Shown) -> list[tuple[AdjointStep, sp.Expr | None]]:
    """(step, value of its contribution or None) right to left."""
    if ex.values is None:
        return [(step, None) for step in ex.backward.steps]
    return [(step, contribution) for step, (_, contribution) in ex.backward.step_values(ex.values).items()]


# --- text -----------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _forward_text(ex: Shown) -> list[str]:
    g = ex.graph
    out = [f"Forward pass ({g.output} = {g.expr})"]
    if ex.at:
        out[0] += "  at " + ", ".join(f"{k} = {v}" for k, v in ex.at.items())
    out.append(_table(["node", "definition", "value"] if ex.values else ["node", "definition"],
                      [[n.name, str(d)] + ([_approx(v)] if ex.values else []) for n, d, v in
                       ((ex.graph.node(s), d, v) for s, d, v in forward_rows(ex))]))
    return out


def _backward_text(ex: Shown) -> list[str]:
    g = ex.graph
    out = ["Backward pass (right to left; += where a value feeds several nodes)"]
    rows = []
    for step, value in backward_rows(ex):
        rows.append([f"d{g.output}/d{step.target} += {_text(step.contribution, ex)}",
                     f"d{step.source}/d{step.target} = {step.local}"] + ([_approx(value)] if ex.values else []))
    out.append(_table(["step", "local derivative", "contribution"] if ex.values else ["step", "local derivative"],
                      rows))
    return out


def to_text(ex: Shown) -> str:
    """A plain-text report for the terminal (a graph alone: its forward table)."""
    ex = view(ex)
    out = _forward_text(ex)
    if ex.backward is None:
        return "\n".join(out)
    out.append("")
    out += _backward_text(ex)
    if not isinstance(ex, Explanation):
        return "\n".join(out)
    g, b = ex.graph, ex.backward
    out.append("")
    out.append("Gradient (chain rule) and direct differentiation")
    for v in b.wrt:
        out.append(f"  d{g.output}/d{v} = {ex.gradient[v]}")
        out.append(f"  sympy.diff       = {ex.direct[v]}")
        if ex.gradient_values is not None:
            out.append(f"  at the point     = {_approx(ex.gradient_values[v])}")
        check = ex.verification[v]
        out.append(f"  {'agree' if check.agree else 'DISAGREE'}: {check.how}")
    out.append("")
    out.append("Verdict: " + ("the chain rule agrees with direct differentiation for every variable."
                              if ex.verification.agree else "MISMATCH: see the lines marked DISAGREE."))
    return "\n".join(out)


# --- Markdown ---------------------------------------------------------------------------------------

def _forward_markdown(ex: Shown) -> list[str]:
    g = ex.graph
    has_values = ex.values is not None
    out = [f"**Forward pass** ${latex_name(g.output.name)} = {_tex(g.expr, ex)}$", ""]
    out.append("| node | definition |" + (" value |" if has_values else ""))
    out.append("|---|---|" + ("---|" if has_values else ""))
    for s, d, v in forward_rows(ex):
        out.append(f"| ${latex_name(s.name)}$ | ${_tex(d, ex)}$ |" + (f" ${_approx_tex(v, ex)}$ |" if has_values else ""))
    return out


def _backward_markdown(ex: Shown) -> list[str]:
    g = ex.graph
    has_values = ex.values is not None
    out = ["**Backward pass** (right to left, $+=$ where a value feeds several nodes)", ""]
    out.append("| step | local derivative |" + (" contribution |" if has_values else ""))
    out.append("|---|---|" + ("---|" if has_values else ""))
    for step, value in backward_rows(ex):
        lhs = adjoint_latex(g.output, step.target)
        local = local_latex(step.source, step.target)
        out.append(f"| ${lhs} \\mathrel{{+}}= {_tex(step.contribution, ex)}$ | ${local} = {_tex(step.local, ex)}$ |"
                   + (f" ${_approx_tex(value, ex)}$ |" if has_values else ""))
    return out


def to_markdown(ex: Shown) -> str:
    """Markdown tables with inline LaTeX, for notebooks and worksheets."""
    ex = view(ex)
    g = ex.graph
    out = _forward_markdown(ex)
    if ex.backward is None:
        return "\n".join(out)
    out += [""] + _backward_markdown(ex)
    if not isinstance(ex, Explanation):
        return "\n".join(out)
    out += ["", "**Gradient**", ""]
    for v in ex.backward.wrt:
        check = ex.verification[v]
        line = f"- ${adjoint_latex(g.output, v)} = {_tex(ex.gradient[v], ex)}$"
        if ex.gradient_values is not None:
            line += f" $= {_approx_tex(ex.gradient_values[v], ex)}$"
        out.append(line + f" — {'agrees' if check.agree else '**disagrees**'} with `sympy.diff` ({check.how})")
    return "\n".join(out)


# --- LaTeX -------------------------------------------------------------------------------------------

def _forward_latex(ex: Shown) -> list[str]:
    lines = [r"&\textbf{Forward} \\"]
    for s, d, v in forward_rows(ex):
        tail = "" if v is None else f" &&= {_approx_tex(v, ex)}"
        lines.append(f"{latex_name(s.name)} &= {_tex(d, ex)}{tail} \\\\")
    return lines


def _backward_latex(ex: Shown) -> list[str]:
    g = ex.graph
    lines = [r"&\textbf{Backward} \\"]
    for step, value in backward_rows(ex):
        local = rf"{local_latex(step.source, step.target)} = {_tex(step.local, ex)}"
        tail = "" if value is None else f" &&= {_approx_tex(value, ex)}"
        lines.append(f"{adjoint_latex(g.output, step.target)} &\\mathrel{{+}}= {_tex(step.contribution, ex)}"
                     rf" \qquad {local}{tail} \\")
    return lines


def to_latex(ex: Shown) -> str:
    """Aligned LaTeX (MathJax renders it in JupyterLab): forward lines, then backward lines."""
    ex = view(ex)
    lines = [r"\begin{aligned}", *_forward_latex(ex)]
    if ex.backward is not None:
        lines += _backward_latex(ex)
    lines.append(r"\end{aligned}")
    return "\n".join(lines)


# --- HTML (JupyterLab typesets the $...$ in it) -------------------------------------------------------

def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='symbackprop-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(ex: Shown, picture: bool = True) -> str:
    """The picture of the graph, then the forward and backward tables, as HTML with inline LaTeX."""
    ex = view(ex)
    g = ex.graph
    esc = lambda tex: "$" + html.escape(tex, quote=False) + "$"
    has_values = ex.values is not None
    parts = ["<div class='symbackprop'>"]
    if picture:
        parts.append(to_svg(ex))
    parts.append(f"<p><b>Forward pass</b> {esc(latex_name(g.output.name) + ' = ' + _tex(g.expr, ex))}</p>")
    parts.append(_html_table(["node", "definition"] + (["value"] if has_values else []),
                             [[esc(latex_name(s.name)), esc(_tex(d, ex))] + ([esc(_approx_tex(v, ex))] if has_values else [])
                              for s, d, v in forward_rows(ex)]))
    if ex.backward is not None:
        parts.append("<p><b>Backward pass</b> (right to left, $+=$ where a value feeds several nodes)</p>")
        rows = [[esc(rf"{adjoint_latex(g.output, step.target)} \mathrel{{+}}= {_tex(step.contribution, ex)}"),
                 esc(f"{local_latex(step.source, step.target)} = {_tex(step.local, ex)}")]
                + ([esc(_approx_tex(value, ex))] if has_values else []) for step, value in backward_rows(ex)]
        parts.append(_html_table(["step", "local derivative"] + (["contribution"] if has_values else []), rows))
    if isinstance(ex, Explanation):
        items = []
        for v in ex.backward.wrt:
            check = ex.verification[v]
            value = "" if ex.gradient_values is None else " = " + _approx_tex(ex.gradient_values[v], ex)
            items.append(f"<li>{esc(adjoint_latex(g.output, v) + ' = ' + _tex(ex.gradient[v], ex) + value)} — "
                         f"{'agrees' if check.agree else '<b>disagrees</b>'} with <code>sympy.diff</code> "
                         f"({html.escape(check.how)})</li>")
        parts.append("<p><b>Gradient</b></p><ul>" + "".join(items) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


# --- SVG: the computation graph -------------------------------------------------------------------------

BOX_WIDTH, GAP_X, GAP_Y, MARGIN, LINE = 176, 84, 16, 16, 16
_DEFINITION_CHARS = 24  # longer definitions are cut with … (the full text is in the node's tooltip)


@dataclass(frozen=True)
class Layout:
    """Where every input and node sits: `layer` (0 = inputs, last = output) and (x, y) of its box's corner."""

    layer: dict[sp.Symbol, int]
    position: dict[sp.Symbol, tuple[float, float]]
    width: float
    height: float
    box_height: float


def layout(graph: Graph, lines: int = 1) -> Layout:
    """Layers from the topological order: inputs in layer 0, each node one right of its deepest parent,
    the output alone in the last layer; within a layer, values sit near the mean height of what they
    read (inputs: of what reads them). Boxes hold `lines` lines of text.

    >>> from symbackprop import Graph
    >>> places = layout(Graph.from_expr("cos(sin(x^2) + 3x^2)"))
    >>> sorted((s.name, k) for s, k in places.layer.items())
    [('J', 4), ('t', 1), ('u', 3), ('u1', 2), ('u2', 2), ('x', 0)]
    """
    layer: dict[sp.Symbol, int] = {s: 0 for s in graph.inputs}
    node_of = {n.symbol: n for n in graph.nodes}
    for symbol in graph.order():
        if symbol in node_of:
            layer[symbol] = 1 + max((layer[p] for p in node_of[symbol].parents), default=0)
    last = max(layer.values())
    if any(k == last for s, k in layer.items() if s != graph.output):
        last += 1
    layer[graph.output] = last
    columns: list[list[sp.Symbol]] = [[] for _ in range(last + 1)]
    for s in (*graph.inputs, *(n.symbol for n in graph.nodes)):
        columns[layer[s]].append(s)
    row: dict[sp.Symbol, float] = {}
    mean = lambda xs, default: sum(xs) / len(xs) if xs else default

    def place(column: list[sp.Symbol]) -> None:
        for i, s in enumerate(column):
            row[s] = i - (len(column) - 1) / 2

    for sweep in range(2):  # barycenter ordering: left to right, then inputs next to what reads them
        for k, column in enumerate(columns):
            if k > 0:
                column.sort(key=lambda s: mean([row[p] for p in node_of[s].parents], 0.0))
            place(column)
        if sweep == 0:
            columns[0].sort(key=lambda s: mean([row[c.symbol] for c in graph.consumers[s]], 0.0))
    box_height = 12 + LINE * (lines + 0.5)
    tallest = max(len(c) for c in columns)
    body = tallest * box_height + (tallest - 1) * GAP_Y
    height = 2 * MARGIN + body + 20
    middle = 20 + MARGIN + body / 2
    position = {s: (MARGIN + layer[s] * (BOX_WIDTH + GAP_X), middle + row[s] * (box_height + GAP_Y) - box_height / 2)
                for s in row}
    width = 2 * MARGIN + len(columns) * BOX_WIDTH + (len(columns) - 1) * GAP_X
    return Layout(layer, position, width, height, box_height)


def _cut(text: str, limit: int = _DEFINITION_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _key(graph: Graph, item: Any) -> Any:
    """A highlight item as symbols: a name → the symbol; (parent, child) → a pair of symbols."""
    if isinstance(item, tuple):
        return tuple(graph.symbol(x) for x in item)
    return graph.symbol(item)


def graph_svg(graph: Graph, values: Mapping[sp.Symbol, sp.Expr] | None = None,
              adjoints: Mapping[sp.Symbol, sp.Expr] | None = None, highlight: Iterable[Any] = (),
              edge_labels: Mapping[tuple[sp.Symbol, sp.Symbol], str] | None = None, caption: str = "") -> str:
    """An SVG picture of `graph`: one box per input and node (name = definition; value, adjoint when given),
    one arrow per use of a value (fan-out shows as several arrows). `highlight` holds names or
    (parent, child) pairs to draw in orange; `edge_labels` puts text on edges.

    >>> from symbackprop import Graph
    >>> svg = graph_svg(Graph.from_expr("cos(sin(x^2) + 3x^2)"), highlight=["t", ("t", "u1")])
    >>> svg.count("class='edge"), svg.count("class='edge current'"), "data-name='t' class='node inner current'" in svg
    (6, 1, True)
    """
    places = layout(graph, 1 + (values is not None) + (adjoints is not None))
    box_height = places.box_height
    marked = {_key(graph, h) for h in highlight}
    node_of = {n.symbol: n for n in graph.nodes}
    labels = {tuple(_key(graph, k)): v for k, v in (edge_labels or {}).items()}
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' class='symbackprop-graph' width='{places.width:.0f}' "
           f"height='{places.height:.0f}' viewBox='0 0 {places.width:.0f} {places.height:.0f}' "
           f"style='max-width:100%;height:auto' "
           f"font-family='DejaVu Sans, Arial, sans-serif' font-size='12'>",
           "<style>.node rect{fill:#f7f7fb;stroke:#5a5a7a;stroke-width:1.2}"
           ".node.input rect{fill:#eef5ee;stroke:#5a7a5a}.node.output rect{stroke-width:2}"
           ".node.current rect{fill:#fff1dd;stroke:#e07b00;stroke-width:3}"
           ".edge path{fill:none;stroke:#8a8aa0;stroke-width:1.4}.edge polygon{fill:#8a8aa0}"
           ".edge.current path{stroke:#e07b00;stroke-width:3}.edge.current polygon{fill:#e07b00}"
           ".value{fill:#1d5fa8}.adjoint{fill:#a8321d}"
           ".label{fill:#e07b00;font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:4px}</style>"]
    if caption:
        out.append(f"<text x='{MARGIN}' y='{MARGIN + 4}' font-weight='bold'>{html.escape(caption)}</text>")
    # edges first (under the boxes); entry and exit points spread along the box sides
    outgoing = {s: [c.symbol for c in graph.consumers[s]] for s in places.position}
    for node in graph.nodes:
        for i, parent in enumerate(node.parents):
            px, py = places.position[parent]
            cx, cy = places.position[node.symbol]
            readers = outgoing[parent]
            j = readers.index(node.symbol)
            y0 = py + box_height * (j + 1) / (len(readers) + 1)
            y1 = cy + box_height * (i + 1) / (len(node.parents) + 1)
            x0, x1 = px + BOX_WIDTH, cx - 1
            bend = max(30.0, (x1 - x0) / 2)
            current = (parent, node.symbol) in marked
            css = "edge current" if current else "edge"
            out.append(f"<g class='{css}' data-parent='{parent.name}' data-child='{node.name}'>"
                       f"<path d='M{x0:.1f},{y0:.1f} C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} "
                       f"{x1 - 7:.1f},{y1:.1f}'/><polygon points='{x1 - 8:.1f},{y1 - 4.5:.1f} {x1:.1f},{y1:.1f} "
                       f"{x1 - 8:.1f},{y1 + 4.5:.1f}'/></g>")
            if (parent, node.symbol) in labels:
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2 - 5
                out.append(f"<text class='label' x='{mx:.1f}' y='{my:.1f}' text-anchor='middle'>"
                           f"{html.escape(labels[(parent, node.symbol)])}</text>")
    for symbol, (x, y) in places.position.items():
        node = node_of.get(symbol)
        kind = "input" if node is None else ("output" if symbol == graph.output else "inner")
        css = f"node {kind}" + (" current" if symbol in marked else "")
        name = text_name(symbol.name)
        title = name if node is None else f"{name} = {text_expr(node.definition)}"
        head = name if node is None else f"{name} = {_cut(text_expr(node.definition))}"
        out.append(f"<g data-name='{symbol.name}' class='{css}'><title>{html.escape(title)}</title>"
                   f"<rect x='{x:.1f}' y='{y:.1f}' width='{BOX_WIDTH}' height='{box_height:.0f}' rx='8'/>"
                   f"<text x='{x + 8:.1f}' y='{y + 17:.1f}' font-weight='bold'>{html.escape(head)}</text>")
        line = y + 17
        if values is not None:
            line += LINE
        if values is not None and symbol in values:
            out.append(f"<text class='value' x='{x + 8:.1f}' y='{line:.1f}'>"
                       f"value {html.escape(short_number(values[symbol]))}</text>")
        if adjoints is not None and symbol in adjoints:
            out.append(f"<text class='adjoint' x='{x + 8:.1f}' y='{line + LINE:.1f}'>∂{text_name(graph.output.name)}/∂"
                       f"{html.escape(name)} {html.escape(short_number(adjoints[symbol]))}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def adjoint_values(ex: Shown) -> dict[sp.Symbol, sp.Expr] | None:
    """dJ/dv at the point for every value v that has an adjoint (read from the backward program's values)."""
    if ex.values is None or ex.backward is None:
        return None
    b = ex.backward
    found = {v: ex.values[b.adjoint_symbol(v)] for v in b.adjoints if b.adjoint_symbol(v) in ex.values}
    found[ex.graph.output] = sp.S.One
    return found


def to_svg(ex: Any, highlight: Iterable[Any] = (), at: Mapping | None = None) -> str:
    """The computation graph of a `Graph`, `Backward` or `Explanation`; values and adjoints when known.

    >>> from symbackprop.examples import gradient_example
    >>> svg = to_svg(gradient_example().backward(), at={"x": 1, "y": 2})
    >>> "∂f/∂x 10" in svg and "∂f/∂y 6" in svg
    True
    """
    shown = view(ex, at)
    return graph_svg(shown.graph, shown.values, adjoint_values(shown), highlight)


# --- JSON ----------------------------------------------------------------------------------------------

def _readable_back(expr: sp.Expr) -> str:
    """A string `sympy.sympify` reads back: σ, ReLU and softplus written in exp, Max and log."""
    return str(to_elementary(expr))


def to_dict(ex: Explanation) -> dict[str, Any]:
    """The JSON contract of `symbackprop explain --json`."""
    g, b = ex.graph, ex.backward
    data: dict[str, Any] = {
        "output": g.output.name,
        "inputs": [s.name for s in g.inputs],
        "parameters": [s.name for s in g.parameters],
        "wrt": [s.name for s in b.wrt],
        "expr": _readable_back(g.expr),
        "nodes": [{"name": n.name, "expr": _readable_back(n.definition), "parents": [p.name for p in n.parents]}
                  for n in g.nodes],
        "backward": [{"target": s.target.name, "source": s.source.name, "op": s.op,
                      "adjoint": b.adjoint_symbol(s.target).name,
                      "local": _readable_back(s.local), "contribution": _readable_back(s.contribution),
                      "accumulates": s.accumulates} for s in b.steps],
        "gradient": {v.name: _readable_back(e) for v, e in ex.gradient.items()},
        "direct": {v.name: _readable_back(e) for v, e in ex.direct.items()},
        "agree": ex.verification.agree,
        "verification": {r.variable.name: r.how for r in ex.verification.results},
    }
    if ex.values is not None:
        data["at"] = {k.name: str(v) for k, v in ex.at.items()}
        data["output_value"] = _readable_back(ex.output_value)
        data["node_values"] = {n.name: _readable_back(ex.values[n.symbol]) for n in g.nodes}
        data["gradient_values"] = {v.name: _readable_back(e) for v, e in ex.gradient_values.items()}
        data["gradient_floats"] = {v.name: float(sp.N(to_elementary(e), 17)) for v, e in ex.gradient_values.items()}
    return data


def to_json(ex: Explanation) -> str:
    return json.dumps(to_dict(ex), indent=2, ensure_ascii=False)


PRINTERS = {"text": to_text, "markdown": to_markdown, "latex": to_latex, "json": to_json}
