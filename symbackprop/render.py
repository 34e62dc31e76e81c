"""Printers: one explanation, many forms (text, Markdown, LaTeX, JSON). Printers never compute math.

They read an `Explanation` (graph, backward pass, verification, values) and lay it out like the
slides: a forward table (node | definition | value), a backward table (each `+=` with its local
derivative and value), the gradients, direct differentiation, and the verdict.

>>> from symbackprop import Graph
>>> from symbackprop.explanation import explain
>>> print(to_text(explain(Graph.from_expr("x^2"), at={"x": 3})).splitlines()[0])
Forward pass (J = x**2)
"""
from __future__ import annotations

import json
from typing import Any

import sympy as sp

from .explanation import Explanation
from .functions import to_elementary

# --- names ----------------------------------------------------------------------------------------

_DECORATIONS = {"star": "^{*}", "hat": "hat", "bar": "bar", "tilde": "tilde"}


def latex_name(name: str) -> str:
    """LaTeX for a node or input name: `alpha_1_2` → `\\alpha_{1,2}`, `y_star` → `y^{*}`, `u1` → `u_{1}`."""
    base, *subs = name.split("_")
    if len(base) > 1 and base[-1].isdigit() and not subs:
        digits = len(base) - len(base.rstrip("0123456789"))
        base, subs = base[:-digits], [base[-digits:]]
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


def adjoint_latex(output: sp.Symbol, of: sp.Symbol) -> str:
    return rf"\frac{{\partial {latex_name(output.name)}}}{{\partial {latex_name(of.name)}}}"


def _symbol_names(ex: Explanation) -> dict[sp.Symbol, str]:
    """LaTeX for every symbol that can appear: inputs, nodes, and the adjoint symbols dJ_dv."""
    g, b = ex.graph, ex.backward
    names = {s: latex_name(s.name) for s in (*g.inputs, *(n.symbol for n in g.nodes))}
    for target in b.adjoints:
        names[b.adjoint_symbol(target)] = adjoint_latex(g.output, target)
    return names


def _text_names(ex: Explanation) -> dict[sp.Symbol, sp.Symbol]:
    """dJ_dt printed as dJ/dt in text."""
    b = ex.backward
    return {b.adjoint_symbol(t): sp.Symbol(f"d{ex.graph.output}/d{t}") for t in b.adjoints}


def _text(expr: sp.Expr, ex: Explanation) -> str:
    return str(expr.xreplace(_text_names(ex)))


def _tex(expr: sp.Expr, ex: Explanation) -> str:
    return sp.latex(expr, symbol_names=_symbol_names(ex))


def _approx(value: sp.Expr) -> str:
    if value.is_Rational:
        return str(value)
    try:
        return f"{str(value)}  ≈ {float(sp.N(to_elementary(value), 17)):.10g}"
    except (TypeError, ValueError):
        return str(value)


def _approx_tex(value: sp.Expr, ex: Explanation) -> str:
    if value.is_Rational:
        return _tex(value, ex)
    try:
        return rf"{_tex(value, ex)} \approx {float(sp.N(to_elementary(value), 17)):.6g}"
    except (TypeError, ValueError):
        return _tex(value, ex)


# --- rows shared by the table printers ------------------------------------------------------------

def forward_rows(ex: Explanation) -> list[tuple[sp.Symbol, sp.Expr, sp.Expr | None]]:
    """(node, definition, value or None) in forward order."""
    return [(n.symbol, n.definition, ex.value(n.symbol)) for n in ex.graph.nodes]


def backward_rows(ex: Explanation):
    """(step, value of its contribution or None) right to left."""
    rows = []
    for step in ex.backward.steps:
        value = None
        if ex.values is not None:
            value = step.contribution.xreplace(ex.values)
        rows.append((step, value))
    return rows


# --- text -----------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def to_text(ex: Explanation) -> str:
    """A plain-text report for the terminal."""
    g, b = ex.graph, ex.backward
    out = [f"Forward pass ({g.output} = {g.expr})"]
    if ex.at:
        out[0] += "  at " + ", ".join(f"{k} = {v}" for k, v in ex.at.items())
    out.append(_table(["node", "definition", "value"] if ex.values else ["node", "definition"],
                      [[n.name, str(d)] + ([_approx(v)] if ex.values else []) for n, d, v in
                       ((ex.graph.node(s), d, v) for s, d, v in forward_rows(ex))]))
    out.append("")
    out.append(f"Backward pass (right to left; += where a value feeds several nodes)")
    rows = []
    for step, value in backward_rows(ex):
        rows.append([f"d{g.output}/d{step.target} += {_text(step.contribution, ex)}",
                     f"d{step.source}/d{step.target} = {step.local}"] + ([_approx(value)] if ex.values else []))
    out.append(_table(["step", "local derivative", "contribution"] if ex.values else ["step", "local derivative"],
                      rows))
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

def to_markdown(ex: Explanation) -> str:
    """Markdown tables with inline LaTeX, for notebooks and worksheets."""
    g = ex.graph
    has_values = ex.values is not None
    out = [f"**Forward pass** ${latex_name(g.output.name)} = {_tex(g.expr, ex)}$", ""]
    out.append("| node | definition |" + (" value |" if has_values else ""))
    out.append("|---|---|" + ("---|" if has_values else ""))
    for s, d, v in forward_rows(ex):
        out.append(f"| ${latex_name(s.name)}$ | ${_tex(d, ex)}$ |" + (f" ${_approx_tex(v, ex)}$ |" if has_values else ""))
    out += ["", "**Backward pass** (right to left, $+=$ where a value feeds several nodes)", ""]
    out.append("| step | local derivative |" + (" contribution |" if has_values else ""))
    out.append("|---|---|" + ("---|" if has_values else ""))
    for step, value in backward_rows(ex):
        lhs = adjoint_latex(g.output, step.target)
        local = rf"\frac{{\partial {latex_name(step.source.name)}}}{{\partial {latex_name(step.target.name)}}}"
        out.append(f"| ${lhs} \\mathrel{{+}}= {_tex(step.contribution, ex)}$ | ${local} = {_tex(step.local, ex)}$ |"
                   + (f" ${_approx_tex(value, ex)}$ |" if has_values else ""))
    out += ["", "**Gradient**", ""]
    for v in ex.backward.wrt:
        check = ex.verification[v]
        line = f"- ${adjoint_latex(g.output, v)} = {_tex(ex.gradient[v], ex)}$"
        if ex.gradient_values is not None:
            line += f" $= {_approx_tex(ex.gradient_values[v], ex)}$"
        out.append(line + f" — {'agrees' if check.agree else '**disagrees**'} with `sympy.diff` ({check.how})")
    return "\n".join(out)


# --- LaTeX -------------------------------------------------------------------------------------------

def to_latex(ex: Explanation) -> str:
    """Aligned LaTeX (MathJax renders it in JupyterLab): forward lines, then backward lines."""
    g = ex.graph
    lines = [r"\begin{aligned}", r"&\textbf{Forward} \\"]
    for s, d, v in forward_rows(ex):
        tail = "" if v is None else f" &&= {_approx_tex(v, ex)}"
        lines.append(f"{latex_name(s.name)} &= {_tex(d, ex)}{tail} \\\\")
    lines.append(r"&\textbf{Backward} \\")
    for step, value in backward_rows(ex):
        local = (rf"\frac{{\partial {latex_name(step.source.name)}}}{{\partial {latex_name(step.target.name)}}}"
                 rf" = {_tex(step.local, ex)}")
        tail = "" if value is None else f" &&= {_approx_tex(value, ex)}"
        lines.append(f"{adjoint_latex(g.output, step.target)} &\\mathrel{{+}}= {_tex(step.contribution, ex)}"
                     rf" \qquad {local}{tail} \\")
    lines.append(r"\end{aligned}")
    return "\n".join(lines)


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
