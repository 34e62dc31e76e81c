"""Printers and pictures, against values worked out by hand."""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from symbackprop import Graph
from symbackprop.core import examples
from symbackprop.core.examples import cos_sin, gradient_example, two_layer_net
from symbackprop.core.explanation import explain
from symbackprop.show import graph_svg, layout, text_name, to_html, to_latex, to_markdown, to_svg, to_text

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def edges(svg: str) -> list[tuple[str, str, str]]:
    return [(g.get("data-parent"), g.get("data-child"), g.get("class")) for g in parse(svg).iter(f"{SVG}g")
            if "edge" in g.get("class", "").split()]


def nodes(svg: str) -> dict[str, ET.Element]:
    return {g.get("data-name"): g for g in parse(svg).iter(f"{SVG}g") if "node" in g.get("class", "").split()}


def box_x(node: ET.Element) -> float:
    return float(node.find(f"{SVG}rect").get("x"))


def texts(node: ET.Element) -> list[str]:
    return [t.text for t in node.iter(f"{SVG}text")]


# --- SVG --------------------------------------------------------------------------------------------

def test_every_use_of_a_value_is_an_edge():
    # x -> t, t -> u1, t -> u2 (fan-out), u1 -> u, u2 -> u, u -> J
    pairs = sorted((p, c) for p, c, _ in edges(to_svg(cos_sin())))
    assert pairs == sorted([("x", "t"), ("t", "u1"), ("t", "u2"), ("u1", "u"), ("u2", "u"), ("u", "J")])


def test_an_input_used_by_two_nodes_draws_two_edges():
    # f = 3x^2 + 2xy + y^2: x is read by x^2 and by 2xy; y by y^2 and by 2xy
    out = edges(to_svg(gradient_example()))
    assert sum(p == "x" for p, _, _ in out) == 2
    assert sum(p == "y" for p, _, _ in out) == 2


def test_two_layer_net_4x3_has_one_edge_per_parent():
    # a_j: 4 weights + 4 inputs (x3) = 24, z_j: 3, b: 3 betas + 3 z = 6, y: 1, J: y and y* = 2
    assert len(edges(to_svg(two_layer_net(4, 3)))) == 36


def test_inputs_left_output_right():
    shown = nodes(to_svg(cos_sin()))
    xs = {name: box_x(node) for name, node in shown.items()}
    assert xs["x"] == min(xs.values())
    assert xs["J"] == max(xs.values()) and list(xs.values()).count(xs["J"]) == 1
    assert xs["x"] < xs["t"] < xs["u1"] == xs["u2"] < xs["u"] < xs["J"]


def test_layers_follow_the_topological_order():
    places = layout(cos_sin())
    assert {s.name: k for s, k in places.layer.items()} == {"x": 0, "t": 1, "u1": 2, "u2": 2, "u": 3, "J": 4}


def test_name_and_definition_in_each_box():
    shown = nodes(to_svg(cos_sin()))
    assert texts(shown["t"])[0] == "t = x^2"
    assert texts(shown["u1"])[0] == "u₁ = sin(t)"
    assert texts(shown["x"])[0] == "x"


def test_values_and_adjoints_once_evaluated():
    # f = 3x^2 + 2xy + y^2 at (1, 2): f = 3 + 4 + 4 = 11, gradient (6x + 2y, 2x + 2y) = (10, 6)
    shown = nodes(to_svg(gradient_example().backward(), at={"x": 1, "y": 2}))
    assert texts(shown["x"]) == ["x", "value 1", "df/dx 10"]
    assert texts(shown["y"]) == ["y", "value 2", "df/dy 6"]
    assert texts(shown["f"])[1:] == ["value 11", "df/df 1"]


def test_no_values_before_evaluation():
    shown = nodes(to_svg(cos_sin()))
    assert all(len(texts(n)) == 1 for n in shown.values())


def test_highlight_a_node_and_an_edge():
    svg = to_svg(cos_sin(), highlight=["u2", ("t", "u2")])
    current_nodes = [name for name, n in nodes(svg).items() if "current" in n.get("class").split()]
    current_edges = [(p, c) for p, c, css in edges(svg) if "current" in css.split()]
    assert current_nodes == ["u2"] and current_edges == [("t", "u2")]


def test_edge_labels():
    g = cos_sin()
    svg = graph_svg(g, highlight=[("t", "u1")], edge_labels={("t", "u1"): "∂u₁/∂t = cos(t)"})
    assert "∂u₁/∂t = cos(t)" in [t.text for t in parse(svg).iter(f"{SVG}text")]


def test_unknown_name_to_highlight_is_an_error():
    from symbackprop import GraphError
    with pytest.raises(GraphError):
        to_svg(cos_sin(), highlight=["nope"])


# --- names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, shown", [("alpha_2_1", "α₂,₁"), ("beta_3", "β₃"), ("y_star", "y*"),
                                         ("u12", "u₁₂"), ("x", "x"), ("theta_j", "θ_j"), ("y_hat", "ŷ")])
def test_text_names(name, shown):
    assert text_name(name) == shown


# --- tables -------------------------------------------------------------------------------------------

def test_forward_table_of_a_graph_at_a_point():
    # x = 1/2: t = 1/4, u2 = 3/4
    text = cos_sin().to_text(at={"x": "1/2"})
    rows = {line.split()[0]: line.split() for line in text.splitlines()[3:]}
    assert rows["t"][2] == "1/4" and rows["u2"][2] == "3/4"
    assert "Backward" not in text


def test_backward_table_has_one_line_per_use():
    b = cos_sin().backward()
    latex = b.to_latex()
    assert latex.count(r"\mathrel{+}=") == 6
    assert latex.count(r"\frac{\partial J}{\partial t} &\mathrel{+}=") == 2  # the fan-out at t


def test_backward_markdown_values_at_a_point():
    # f at (1, 2): every contribution is a whole number; the x-contributions are 3*2x = 6 and 2y = 4
    md = gradient_example().backward().to_markdown(at={"x": 1, "y": 2})
    lines = [line for line in md.splitlines() if line.startswith(r"| $\frac{\partial f}{\partial x}")]
    assert sorted(line.rstrip(" |").rsplit("$", 2)[-2] for line in lines) == ["4", "6"]


def test_explanation_prints_everything():
    ex = explain(gradient_example(), at={"x": 1, "y": 2})
    text = ex.to_text()
    assert "at the point = 10" in text and "at the point = 6" in text
    assert "Verdict: the chain rule agrees" in text
    assert ex.to_markdown() == to_markdown(ex) and ex.to_latex() == to_latex(ex)


def test_latex_is_aligned_for_mathjax():
    latex = to_latex(explain(cos_sin(), at={"x": "1/2"}))
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    assert r"t &= x^{2} &&= \frac{1}{4} = 0.25 \\" in latex


def test_cos_sin_values_in_the_text_report():
    # J(1/2) = cos(sin(1/4) + 3/4), dJ/dx = -sin(sin(1/4) + 3/4) * (2x cos(x^2) + 6x) at x = 1/2
    text = to_text(explain(cos_sin(), at={"x": "1/2"}))
    J = math.cos(math.sin(0.25) + 0.75)
    dJdx = -math.sin(math.sin(0.25) + 0.75) * (math.cos(0.25) + 3)
    assert f"{J:.10g}" in text and f"{dJdx:.10g}" in text


# --- Jupyter -------------------------------------------------------------------------------------------

def test_graph_displays_itself():
    g = cos_sin()
    html = g._repr_html_()
    assert "<svg" in html and "Forward pass" in html and "Backward pass" not in html
    assert g._repr_latex_().startswith("$$\\begin{aligned}")


def test_backward_displays_itself():
    b = cos_sin().backward()
    assert "Backward pass" in b._repr_html_() and "<svg" in b._repr_html_()
    assert b._repr_markdown_().count(r"\mathrel{+}=") == 6
    assert b._repr_latex_().endswith("\\end{aligned}$$")


def test_explanation_displays_itself():
    ex = explain(gradient_example(), at={"x": 1, "y": 2})
    html = ex._repr_html_()
    assert "<svg" in html and "agrees" in html and html == to_html(ex)
    assert "**Gradient**" in ex._repr_markdown_()
    parse(ex.to_svg())  # well-formed XML


def test_svg_of_a_deep_and_a_user_program_is_well_formed():
    g = Graph.from_steps("c = a*b\nc = c + c + 1\nd = c^2 + a")
    svg = to_svg(g.backward(), at={"a": 1, "b": "2/3"})
    shown = nodes(svg)
    assert set(shown) == {"a", "b", "c", "c_2", "d"}
    assert sorted((p, c) for p, c, _ in edges(svg)) == [("a", "c"), ("a", "d"), ("b", "c"), ("c", "c_2"), ("c_2", "d")]


@pytest.mark.parametrize("make", [lambda: cos_sin(), lambda: two_layer_net(2, 2), lambda: two_layer_net(3, 3),
                                  lambda: examples.logistic_regression(3), lambda: examples.one_hidden_layer_mse(2, 2),
                                  lambda: examples.deep_net(3, 2), lambda: examples.classifier(2, 3),
                                  lambda: Graph.from_steps("a = x*y\nb = a + x\nc = sin(b) + a\nJ = c*x + y")],
                         ids=["cos_sin", "two_layer", "two_layer_3x3", "logistic", "hidden_mse", "deep", "classifier",
                              "skips"])
def test_no_edge_crosses_a_box_and_everything_fits(make):
    """From the layout's geometry: every sampled point of every edge stays out of all boxes but its two ends;
    boxes lie inside the picture and do not overlap; each box is wide enough for its text."""
    g = make()
    places = layout(g, lines=3)
    assert places.crossings() == []
    boxes = {s: places.box(s) for s in places.position}
    for s, (left, top, right, bottom) in boxes.items():
        assert 0 <= left and right <= places.width and 0 <= top and bottom <= places.height
    items = list(boxes.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    svg = to_svg(g)
    for name, node in nodes(svg).items():
        width = float(node.find(f"{SVG}rect").get("width"))
        assert all(len(t) * 7.4 + 16 <= width + 1 for t in texts(node)[:1])  # the bold head line


def test_parameters_sit_next_to_the_layer_they_feed():
    places = layout(two_layer_net(2, 2))
    layer = {s.name: k for s, k in places.layer.items()}
    assert layer["beta_1"] == layer["b"] - 1 and layer["alpha_1_1"] == layer["a_1"] - 1
    assert layer["y_star"] == layer["J"] - 1


def test_product_labels_keep_starred_names():
    # y_star*log(y) was drawn as "y^log(y)": the * of y* merged with the product's *
    shown = nodes(to_svg(examples.logistic_regression(1)))
    assert texts(shown["J"])[0].startswith("J = y*·log(y)")


def test_two_layer_net_readable_at_900px():
    # scaled to a 900 px page, 12 px text stays at least 8.5 px
    assert 12 * min(1.0, 900 / layout(two_layer_net(2, 2), lines=3).width) >= 8.5


def test_how_the_gradients_were_checked_is_said_once_when_alike():
    """Two gradients checked alike: one block below them, not the same verdict under each."""
    from symbackprop.core import examples
    from symbackprop.core.explanation import explain as explain_graph

    text = explain_graph(examples.gradient_example()).to_text()
    assert text.count("checked: chain rule = sympy.diff") == 1
    assert "how the 2 gradients above were checked" in text
    gradients = text[text.index("Gradient, in"):text.index("how the 2 gradients")]
    assert "df/dx = " in gradients and "df/dy = " in gradients and "checked" not in gradients


def test_a_gradient_checked_otherwise_keeps_its_own_lines():
    """In a program where a few node forms are proved another way, those say so under their gradient and
    the usual wording is said once."""
    from symbackprop import Graph
    from symbackprop.core.explanation import explain as explain_graph

    program = "h = w1*x + w2*y\ng = tanh(h)\nL = (g - t)^2\nr = w1^2 + w2^2\nJ = L + lam*r"
    text = explain_graph(Graph.from_steps(program)).to_text()
    tail = text[text.index("gradients above were checked"):]
    usual = [line.strip() for line in tail.splitlines()[1:] if line.startswith("      ")]
    own = [line.strip() for line in text[text.index("Gradient, in"):text.index("how the")].splitlines()
           if line.startswith("      ")]
    assert usual and own and all(line not in usual for line in own)
    assert text.count("checked: chain rule = sympy.diff") <= 1 + sum(line.startswith("checked:") for line in own)


def test_euler_number_read_for_an_unassigned_e_is_pointed_out():
    """A bias typed as `e` that no line assigns is Euler's number; the forward table says so."""
    from symbackprop import Graph
    from symbackprop.core.explanation import explain as explain_graph

    note = "E here is Euler's number"
    assert note in explain_graph(Graph.from_steps("h = w*x + e\nJ = h^2")).to_text()
    assert note not in explain_graph(Graph.from_steps("h = w*x + b\nJ = exp(h)^2")).to_text()
    assert note not in explain_graph(Graph.from_steps("e = w*x\nJ = e^2")).to_text()  # a node named e
