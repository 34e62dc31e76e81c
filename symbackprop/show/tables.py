"""Printers: one model, many forms (text, Markdown, LaTeX, JSON, HTML, SVG). Printers never compute math.

They read an `Explanation` (graph, backward pass, verification, values) -- or just a `Graph` or a
`Backward` -- and lay it out like the slides: a forward table (node | definition | value), a backward
table (each `+=` with its local derivative and value), the gradients, direct differentiation, and the
verdict. `graph_svg` draws the computation graph: inputs left, output right, one edge per use.

>>> from symbackprop import Graph
>>> from symbackprop.core.explanation import explain
>>> print(to_text(explain(Graph.from_expr("x^2"), at={"x": 3})).splitlines()[0])
Forward pass (J = x**2)  at x = 3
"""
from __future__ import annotations

import html
import textwrap
from collections import Counter
from typing import TYPE_CHECKING

import sympy as sp

from ..core.explanation import Explanation
from ..core.indexform import IndexRow
from .names import adjoint_latex, course_latex, course_str, latex_name, local_latex
from .svg import to_svg
from .view import (
    Shown,
    _approx,
    _approx_tex,
    _tex,
    _text,
    backward_rows,
    forward_rows,
    view,
)

if TYPE_CHECKING:
    pass


# --- text -----------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


HEADER_SIZE = 40  # tree nodes of the output in the inputs that still fit the header line


def _forward_text(ex: Shown, inputs: bool = False) -> list[str]:
    g = ex.graph
    if inputs or g.expr_size <= HEADER_SIZE:
        out = [f"Forward pass ({g.output} = {g.expr})"]
    else:  # a whole program on one line is read by no one (and slow to write out): on request only
        out = [f"Forward pass ({g.output} from the {len(g.nodes)} nodes below; --in-inputs writes it out in full)"]
    if ex.at:
        out[0] += "  at " + ", ".join(f"{k} = {v}" for k, v in ex.at.items())
    out.append(_table(["node", "definition", "value"] if ex.values else ["node", "definition"],
                      [[n.name, course_str(d)] + ([_approx(v)] if ex.values else []) for n, d, v in
                       ((ex.graph.node(s), d, v) for s, d, v in forward_rows(ex))]))
    if _reads_euler(g):
        out.append(EULER_NOTE)
    return out


EULER_NOTE = "E here is Euler's number 2.71828… (an e that no line assigns reads as it; for an input, call it b or e1)"


def _reads_euler(g) -> bool:
    """A bias typed as `e` is Euler's number, not an input: worth a line under the forward table."""
    return any(n.definition.has(sp.E) for n in g.nodes)


def _backward_text(ex: Shown) -> list[str]:
    g = ex.graph
    out = ["Backward pass (right to left; += where a value feeds several nodes)"]
    rows = []
    for step, value in backward_rows(ex):
        rows.append([f"d{g.output}/d{step.target} += {_text(step.contribution, ex)}",
                     f"∂{step.source}/∂{step.target} = {course_str(step.local)}"]
                    + ([_approx(value)] if ex.values else []))
    out.append(_table(["step (adjoint += upstream × local)", "local derivative", "contribution"] if ex.values
                      else ["step (adjoint += upstream × local)", "local derivative"], rows))
    return out


def _index_text(ex: Explanation) -> list[str]:
    """The backward table in the slides' index notation, when the graph is layered (some row has letters)."""
    rows = ex.index_rows
    if not any(r.ranges for r in rows):
        return []
    out = ["", "The same backward pass in index notation (each row checked against the unrolled steps above)"]
    for r in rows:
        ranges = ", ".join(f"{k} = {v[0]}..{v[-1]}" for k, v in r.ranges.items())
        out.append(f"  {index_line(r)}" + (f"    ({ranges})" if ranges else ""))
    return out


def index_line(row: IndexRow) -> str:
    """One row of the index-notation table: `dJ/dalpha_j_i = dJ/da_j · x_i`, `dJ/dx_i = Σ_j dJ/da_j · alpha_j_i`."""
    sigma = "".join(f"Σ_{letter} " for letter in row.summed)
    head = f"d{row.output}/d{row.target} {row.op} {sigma}"
    if row.is_output_source:
        return head + course_str(row.local)
    return head + f"d{row.output}/d{row.source}" + ("" if row.local == 1 else f" · {course_str(row.local)}")


def index_latex(row: IndexRow) -> str:
    """LaTeX of an index-notation row, with the local derivative named: ∂a_j/∂α_ji = x_i."""
    sigma = "".join(rf"\sum_{{{letter}}} " for letter in row.summed)
    op = r"\mathrel{+}=" if row.op == "+=" else "="
    lhs = adjoint_latex(row.output, row.target)
    if row.is_output_source:
        return f"{lhs} {op} {course_latex(row.local, _index_names(row))}"
    local = course_latex(row.local, _index_names(row))
    return (f"{lhs} {op} {sigma}{adjoint_latex(row.output, row.source)}\\,{local_latex(row.source, row.target)}"
            f", \\quad {local_latex(row.source, row.target)} = {local}")


def _index_names(row: IndexRow) -> dict:
    return {s: latex_name(s.name) for s in row.local.free_symbols}


def _gradient_text(ex: Explanation, inputs: bool) -> list[str]:
    g, b = ex.graph, ex.backward
    out = ["", "Gradient, in the forward nodes' names (as the slides write it)"]
    checks = {v: _check_lines(ex, v) for v in b.wrt}
    # how most gradients were checked (the same points, the same proofs) is said once, below them all;
    # a gradient checked otherwise says so on its own lines
    usual = {}
    for kind in ("sympy.diff", "node form"):
        count = Counter(c[kind] for c in checks.values() if kind in c)
        if count and count.most_common(1)[0][1] >= 2:
            usual[kind] = count.most_common(1)[0][0]
    for v in b.wrt:
        form = ex.node_form[v] if ex.node_form else None
        shown = course_str(form.expr) if form is not None else course_str(ex.gradient[v])
        out.append(f"  d{g.output}/d{v} = {shown}")
        if ex.gradient_values is not None:
            value = _approx(ex.gradient_values[v])
            out.append(f"      at the point {'' if value.startswith('≈') else '= '}{value}")
        if inputs:
            out.append(f"      in the inputs = {course_str(ex.gradient[v])}")
            out.append(f"      sympy.diff    = {course_str(ex.direct[v])}")
        for kind, line in checks[v].items():
            if usual.get(kind) != line:
                out += _wrapped(line)
    if usual:
        out.append(f"  how the {len(b.wrt)} gradients above were checked (unless a gradient's own lines say otherwise):")
        for line in usual.values():
            out += _wrapped(line)
    if not inputs:
        out.append("  (the same gradients written in the inputs: --in-inputs)")
    return out


def _check_lines(ex: Explanation, v) -> dict[str, str]:
    """How the gradient of `v` was checked: against sympy.diff, and its node form against the chain rule."""
    check = ex.verification[v]
    lines = {"sympy.diff": f"checked: chain rule {'=' if check.agree else 'DISAGREES with'} sympy.diff ({check.how})"}
    form = ex.node_form[v] if ex.node_form else None
    if form is not None and form.rewritten:
        lines["node form"] = f"this form = chain rule ({form.check.how})" if form.checked else "node form not proved"
    return lines


def _wrapped(text: str, width: int = 100) -> list[str]:
    """A verdict as lines of at most `width` columns under its gradient (never breaking a word)."""
    return textwrap.wrap(text, width, initial_indent=" " * 6, subsequent_indent=" " * 8, break_long_words=False,
                         break_on_hyphens=False)


def _kinks_text(ex: Explanation) -> list[str]:
    if not ex.kinks:
        return []
    return ["", "Not differentiable at this point (the convention used):"] + [f"  {k.node}: {k.note}" for k in ex.kinks]


def to_text(ex: Shown, inputs: bool = False) -> str:
    """A plain-text report for the terminal (a graph alone: its forward table).

    Gradients are written in the nodes' names; `inputs=True` adds them written in the inputs and
    sympy.diff's form.
    """
    ex = view(ex)
    out = _forward_text(ex, inputs)
    if ex.backward is None:
        return "\n".join(out)
    out.append("")
    out += _backward_text(ex)
    if not isinstance(ex, Explanation):
        return "\n".join(out)
    out += _index_text(ex)
    out += _gradient_text(ex, inputs)
    out += _kinks_text(ex)
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
    if _reads_euler(g):
        out += ["", "*" + EULER_NOTE.replace("E here", "$e$ here") + "*"]
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


def to_markdown(ex: Shown, inputs: bool = False) -> str:
    """Markdown tables with inline LaTeX, for notebooks and worksheets; gradients in the nodes' names first."""
    ex = view(ex)
    g = ex.graph
    out = _forward_markdown(ex)
    if ex.backward is None:
        return "\n".join(out)
    out += [""] + _backward_markdown(ex)
    if not isinstance(ex, Explanation):
        return "\n".join(out)
    if any(r.ranges for r in ex.index_rows):
        out += ["", "**In index notation** (each row checked against the unrolled steps)", ""]
        out += [f"- ${index_latex(r)}$" for r in ex.index_rows]
    out += ["", "**Gradient**, in the forward nodes' names", ""]
    for v in ex.backward.wrt:
        check = ex.verification[v]
        line = f"- ${adjoint_latex(g.output, v)} = {_tex(_node_expr(ex, v), ex)}$"
        if ex.gradient_values is not None:
            line += f" $= {_approx_tex(ex.gradient_values[v], ex)}$"
        if inputs:
            line += f"; in the inputs ${_tex(ex.gradient[v], ex)}$"
        out.append(line + f" — {'agrees' if check.agree else '**disagrees**'} with `sympy.diff` ({check.how})")
    out += [f"- *not differentiable here*: {k.note}" for k in ex.kinks]
    return "\n".join(out)


def _node_expr(ex: Explanation, v) -> sp.Expr:
    """The gradient in node names (the input form if no node form was proved)."""
    return ex.node_form[v].expr if ex.node_form else ex.gradient[v]


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


def to_latex(ex: Shown, inputs: bool = False) -> str:
    """Aligned LaTeX (MathJax renders it in JupyterLab): forward lines, then backward lines."""
    ex = view(ex)
    lines = [r"\begin{aligned}", *_forward_latex(ex)]
    if ex.backward is not None:
        lines += _backward_latex(ex)
    if isinstance(ex, Explanation):
        lines.append(r"&\textbf{Gradient} \\")
        for v in ex.backward.wrt:
            tail = "" if ex.gradient_values is None else f" &&= {_approx_tex(ex.gradient_values[v], ex)}"
            lines.append(f"{adjoint_latex(ex.graph.output, v)} &= {_tex(_node_expr(ex, v), ex)}{tail} \\\\")
            if inputs:
                lines.append(f"&= {_tex(ex.gradient[v], ex)} \\\\")
    lines.append(r"\end{aligned}")
    return "\n".join(lines).replace(r"&&= \approx", r"&&\approx")


# --- HTML (JupyterLab typesets the $...$ in it) -------------------------------------------------------

def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='symbackprop-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(ex: Shown, picture: bool = True, inputs: bool = False) -> str:
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
        if any(r.ranges for r in ex.index_rows):
            parts.append("<p><b>In index notation</b> (each row checked against the unrolled steps)</p><ul>"
                         + "".join(f"<li>{esc(index_latex(r))}</li>" for r in ex.index_rows) + "</ul>")
        items = []
        for v in ex.backward.wrt:
            check = ex.verification[v]
            value = "" if ex.gradient_values is None else " = " + _approx_tex(ex.gradient_values[v], ex)
            also = f"; in the inputs {esc(_tex(ex.gradient[v], ex))}" if inputs else ""
            items.append(f"<li>{esc(adjoint_latex(g.output, v) + ' = ' + _tex(_node_expr(ex, v), ex) + value)}{also} — "
                         f"{'agrees' if check.agree else '<b>disagrees</b>'} with <code>sympy.diff</code> "
                         f"({html.escape(check.how)})</li>")
        items += [f"<li><i>not differentiable here</i>: {html.escape(k.note)}</li>" for k in ex.kinks]
        parts.append("<p><b>Gradient</b>, in the forward nodes' names</p><ul>" + "".join(items) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


