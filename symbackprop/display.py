"""How a graph, a backward pass or an explanation shows itself: in Jupyter and as text, Markdown, LaTeX, SVG.

The printers live in `symbackprop.render` and are imported on first use, so the math core never
imports presentation code.

>>> from symbackprop import Graph
>>> print(Graph.from_expr("x^2").to_text(at={"x": 3}).splitlines()[-1])
J     x**2        9
"""
from __future__ import annotations

from typing import Iterable, Mapping


class Displayable:
    """Exports and Jupyter reprs shared by `Graph`, `Backward` and `Explanation` (values when `at` is given)."""

    def to_text(self, at: Mapping | None = None) -> str:
        from .render import to_text, view
        return to_text(view(self, at))

    def to_markdown(self, at: Mapping | None = None) -> str:
        from .render import to_markdown, view
        return to_markdown(view(self, at))

    def to_latex(self, at: Mapping | None = None) -> str:
        from .render import to_latex, view
        return to_latex(view(self, at))

    def to_svg(self, at: Mapping | None = None, highlight: Iterable = ()) -> str:
        """A picture of the graph (see `symbackprop.render.graph_svg`)."""
        from .render import to_svg
        return to_svg(self, highlight, at)

    def _repr_html_(self) -> str:
        from .render import to_html
        return to_html(self)

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
