"""Graphs and the backward pass, against values worked out by hand or read off the seed documents."""
import pytest
import sympy as sp
from sympy import Rational as R

from symbackprop import Graph, GraphError, relu, sigmoid, softplus
from symbackprop.core import backward as backward_module
from symbackprop.core.examples import (classifier, cos_sin, deep_chain, deep_net, gradient_example,
                                       logistic_regression, one_hidden_layer_mse, single_neuron_mse, two_layer_net)

x, y, a, b, w = sp.symbols("x y a b w", real=True)
t, u1, u2, u, J = sp.symbols("t u1 u2 u J", real=True)


def same(left, right) -> bool:
    return sp.simplify(left - right) == 0


# --- the slides' simple example: J = cos(sin(x^2) + 3x^2) ---------------------------------------------

def test_automatic_decomposition_gives_the_slides_nodes():
    g = Graph.from_expr("cos(sin(x^2) + 3x^2)")
    assert [(n.name, n.definition) for n in g.nodes] == [
        ("t", x**2), ("u1", sp.sin(t)), ("u2", 3 * t), ("u", u1 + u2), ("J", sp.cos(u))]
    assert g.inputs == (x,) and g.parameters == (x,) and g.output == J
    assert [c.name for c in g.consumers[t]] == ["u1", "u2"]  # the fan-out


def test_forward_program_and_expression_give_the_same_graph():
    assert repr(cos_sin()) == repr(Graph.from_expr("cos(sin(x^2) + 3x^2)"))
    assert cos_sin().expr == sp.cos(sp.sin(x**2) + 3 * x**2)


def test_backward_steps_match_the_slides():
    b_ = cos_sin().backward()
    dJ = {n: sp.Symbol(f"dJ_d{n}", real=True) for n in ("u", "u1", "u2", "t")}
    expected = [  # (target, source, local derivative, contribution) as on the slides
        ("u", "J", -sp.sin(u), -sp.sin(u)),
        ("u1", "u", 1, dJ["u"]),
        ("u2", "u", 1, dJ["u"]),
        ("t", "u1", sp.cos(t), dJ["u1"] * sp.cos(t)),
        ("t", "u2", 3, 3 * dJ["u2"]),
        ("x", "t", 2 * x, 2 * x * dJ["t"]),
    ]
    got = [(s.target.name, s.source.name, s.local, s.contribution) for s in b_.steps]
    assert got == expected
    assert [s.accumulates for s in b_.steps] == [False, False, False, True, True, False]


def test_gradient_and_exact_values_at_one_half():
    b_ = cos_sin().backward()
    by_hand = -(6 * x + 2 * x * sp.cos(x**2)) * sp.sin(sp.sin(x**2) + 3 * x**2)
    assert same(b_.gradient("x"), by_hand)
    values = b_.values({"x": R(1, 2)})
    assert values[t] == R(1, 4) and values[u2] == R(3, 4)
    assert values[J] == sp.cos(sp.sin(R(1, 4)) + R(3, 4))
    assert same(values[b_.adjoint_symbol("x")], -(3 + sp.cos(R(1, 4))) * sp.sin(sp.sin(R(1, 4)) + R(3, 4)))
    numeric = b_.values({"x": R(1, 2)}, numeric=True)[b_.adjoint_symbol("x")]
    assert abs(numeric - (-3.334146414)) < 1e-8


def test_program_runs_to_the_output_and_every_gradient():
    b_ = cos_sin().backward()
    program = b_.program
    assert [s.name for s, _ in program[:5]] == ["t", "u1", "u2", "u", "J"]
    assert [s.name for s, _ in program[5:]] == ["dJ_du", "dJ_du1", "dJ_du2", "dJ_dt", "dJ_dx"]
    env = {x: R(1, 3)}
    for symbol, expr in program:
        env[symbol] = expr.xreplace(env)
    assert env[J] == sp.cos(sp.sin(R(1, 9)) + R(1, 3))
    assert same(env[b_.adjoint_symbol("x")], -(2 + R(2, 3) * sp.cos(R(1, 9))) * sp.sin(sp.sin(R(1, 9)) + R(1, 3)))


def test_verification_reports_how_agreement_was_established():
    report = cos_sin().backward().verify(points=5, seed=1)
    assert report.agree
    assert "proved equal" in report["x"].how and "5 random points" in report["x"].how


def test_verification_catches_a_wrong_local_derivative(monkeypatch):
    monkeypatch.setitem(backward_module.OWN_VALUE_RULES, sp.exp, lambda v, p: 2 * v)  # a wrong rule
    report = Graph.from_steps("v = x*y\nJ = exp(v)").backward().verify()
    assert not report.agree
    assert "different at" in report["x"].how


# --- the notes' gradient at a point ----------------------------------------------------------------

def test_gradient_of_the_two_variable_function_at_1_2():
    g = gradient_example()  # f = 3x^2 + 2xy + y^2
    grad = g.backward().gradient_at({"x": 1, "y": 2})
    assert grad == {x: 10, y: 6}
    assert sp.sqrt(sum(v**2 for v in grad.values())) == 2 * sp.sqrt(34)  # |(10, 6)| = sqrt(136) ≈ 11.66


# --- programs: reassignment, fan-out, whole right-hand sides -----------------------------------------

def test_reassignment_makes_a_new_node_each_time():
    g = Graph.from_steps("c = a*b\nc = c + c + 1")
    c, c_2 = sp.symbols("c c_2", real=True)
    assert [(n.symbol, n.definition) for n in g.nodes] == [(c, a * b), (c_2, 2 * c + 1)]
    grad = g.backward().gradient_at({"a": 2, "b": 3})  # J = 2ab + 1
    assert grad == {a: 6, b: 4}


def test_input_reassigned_in_the_program():
    g = Graph.from_steps("x = x^2\nx = x + 1\nJ = x*x")  # J = (x^2 + 1)^2, dJ/dx = 4x(x^2+1)
    assert g.inputs == (x,)
    assert g.backward().gradient_at({"x": 2}) == {x: 40}


def test_fan_out_adds_contributions():
    g = Graph.from_steps("v = x*y\nJ = v + v^2 + sin(v)")
    steps = g.backward().steps
    assert [s.target.name for s in steps] == ["v", "x", "y"]
    # J = v + v^2 + sin v, v = xy: dJ/dx = y(1 + 2xy + cos xy); at x=0, y=3: 3*(1 + 0 + 1) = 6
    assert g.backward().gradient_at({"x": 0, "y": 3}) == {x: 6, y: 0}


def test_shared_subexpression_becomes_one_node():
    g = Graph.from_expr("exp(x*y) + x*y")
    shared = [n for n in g.nodes if n.definition == x * y]
    assert len(shared) == 1
    assert len(g.consumers[shared[0].symbol]) == 2


def test_whole_right_hand_side_is_one_node_with_the_slides_derivative():
    g = Graph.from_steps("y = 1/(1+exp(-b))")
    assert len(g.nodes) == 1
    local = g.backward().local("y", "b")
    assert local == sp.exp(-b) / (sp.exp(-b) + 1) ** 2


def test_local_derivatives_reuse_the_node_value():
    g = Graph.from_steps("z = sigmoid(a)\nq = exp(z)\nh = tanh(q)\nJ = softplus(h)")
    bw = g.backward()
    z, q, h = sp.symbols("z q h", real=True)
    assert bw.local("z", "a") == z * (1 - z)
    assert bw.local("q", "z") == q
    assert bw.local("h", "q") == 1 - h**2
    assert bw.local("J", "h") == sigmoid(h)


def test_multivariable_rational_gradient():
    g = Graph.from_expr("(x*y + 1)^2 / x")
    # J = (xy+1)^2/x: dJ/dx = 2y(xy+1)/x - (xy+1)^2/x^2, dJ/dy = 2(xy+1); at (2, 3): 21 - 49/4 = 35/4, 14
    assert g.backward().gradient_at({"x": 2, "y": 3}) == {x: R(35, 4), y: 14}


def test_relu_and_max():
    g = Graph.from_expr("relu(w*x) + Max(x, y)")
    assert g.backward().gradient_at({"w": 2, "x": 3, "y": 1}) == {w: 3, x: 3, y: 0}
    assert g.backward().gradient_at({"w": 2, "x": -1, "y": 1}) == {w: 0, x: 0, y: 1}
    assert g.backward().verify().agree


def test_custom_functions_have_correct_derivatives():
    assert sp.diff(sigmoid(a), a).subs(a, 0) == R(1, 4)
    assert sp.diff(softplus(a), a).subs(a, 0) == R(1, 2)
    assert sp.diff(relu(a), a).subs(a, 2) == 1 and sp.diff(relu(a), a).subs(a, -2) == 0
    assert str(sigmoid(a)) == "σ(a)" and str(relu(a)) == "ReLU(a)" and str(softplus(a)) == "softplus(a)"


def test_abs_derivative_is_sign():
    assert Graph.from_expr("abs(x)").backward().gradient("x") == sp.sign(x)


def test_gradient_only_for_chosen_variables():
    g = Graph.from_expr("x^2 * y")
    bw = g.backward(wrt=["y"])
    assert bw.wrt == (y,)
    assert [s.target.name for s in bw.steps if not g.is_node(s.target)] == ["y"]
    with pytest.raises(GraphError):
        bw.gradient("x")
    with pytest.raises(GraphError):
        g.backward(wrt=["z"])


def test_constant_expression_is_refused():
    with pytest.raises(GraphError):
        Graph.from_expr("2 + 3")


# --- the slides' cases and the notes' networks ------------------------------------------------------

def test_logistic_regression_slides_sign():
    g = logistic_regression(3)
    assert [n.name for n in g.nodes] == ["a", "y", "J"]
    bw = g.backward()
    ys = sp.Symbol("y_star", real=True)
    yy = sp.Symbol("y", real=True)
    assert same(bw.local("J", "y"), ys / yy + (1 - ys) / (yy - 1))  # the slides' dJ/dy
    # at θ = 0: a = 0, y = 1/2, dJ/dθ_j = (y* − y) x_j
    at = {"theta_1": 0, "theta_2": 0, "theta_3": 0, "x_1": 1, "x_2": 2, "x_3": -4, "y_star": 1}
    grad = bw.gradient_at(at)
    assert [grad[s] for s in g.parameters] == [R(1, 2), 1, -2]
    assert bw.verify().agree


def test_logistic_regression_negative_log_likelihood():
    g = logistic_regression(2, negative=True)
    at = {"theta_1": 0, "theta_2": 0, "x_1": 3, "x_2": 1, "y_star": 0}
    assert list(g.backward().gradient_at(at).values()) == [R(3, 2), R(1, 2)]  # (y − y*) x_j


def test_two_layer_net_exact_gradient():
    g = two_layer_net(2, 2)
    assert [str(p) for p in g.parameters] == ["alpha_1_1", "alpha_1_2", "alpha_2_1", "alpha_2_2", "beta_1", "beta_2"]
    # α = 0 ⇒ a_j = 0, z_j = 1/2; β = (1, −1) ⇒ b = 0, y = 1/2; y* = 1.
    # dJ/dβ_j = (y* − y) z_j = 1/4; dJ/dα_ji = (y* − y) β_j z_j(1 − z_j) x_i = β_j x_i / 8
    at = {"alpha_1_1": 0, "alpha_1_2": 0, "alpha_2_1": 0, "alpha_2_2": 0, "beta_1": 1, "beta_2": -1,
          "x_1": 2, "x_2": -4, "y_star": 1}
    grad = {str(k): v for k, v in g.backward().gradient_at(at).items()}
    assert grad == {"alpha_1_1": R(1, 4), "alpha_1_2": R(-1, 2), "alpha_2_1": R(-1, 4), "alpha_2_2": R(1, 2),
                    "beta_1": R(1, 4), "beta_2": R(1, 4)}
    assert g.backward().verify().agree


def test_two_layer_net_input_gradient_sums_over_hidden_units():
    # the slides' wrong line says dJ/dx_i = dJ/da_j Σ_j α_ji; the right one sums dJ/da_j α_ji over j.
    g = two_layer_net(1, 2)
    bw = g.backward(wrt=["x_1"])
    steps = [s for s in bw.steps if s.target.name == "x_1"]
    assert [s.source.name for s in steps] == ["a_1", "a_2"] and all(s.accumulates for s in steps)
    at = {"alpha_1_1": 0, "alpha_2_1": 0, "beta_1": 1, "beta_2": 3, "x_1": 5, "y_star": 1}
    # z = 1/2, b = 2, y = σ(2); dJ/da_j = (1 − σ(2)) β_j / 4; dJ/dx = Σ_j dJ/da_j α_j1 = 0 at α = 0
    assert bw.gradient_at(at) == {sp.Symbol("x_1", real=True): 0}


def test_single_neuron_mse():
    g = single_neuron_mse(4)
    # w = 0, b = 0 ⇒ a = 1/2; y = 1; dL/dw_i = 2(a − y) a(1 − a) x_i = −x_i/4; dL/db = −1/4
    at = {f"w_{i}": 0 for i in range(1, 5)} | {f"x_{i}": i for i in range(1, 5)} | {"b": 0, "y": 1}
    grad = g.backward().gradient_at(at)
    assert list(grad.values()) == [R(-1, 4), R(-1, 2), R(-3, 4), -1, R(-1, 4)]


def test_one_hidden_layer_mse():
    g = one_hidden_layer_mse(2, 2)
    # w = b = 0 ⇒ h_j = 1/2; v = (1, −1), c = 0 ⇒ o = 0, ŷ = 1/2; y = 0, L = 1/4
    # dL/dc = 2 ŷ ŷ(1 − ŷ) = 1/4; dL/dv_j = h_j/4 = 1/8; dL/dw_ji = v_j x_i / 16; dL/db_j = v_j / 16
    at = {"w_1_1": 0, "w_1_2": 0, "w_2_1": 0, "w_2_2": 0, "b_1": 0, "b_2": 0, "v_1": 1, "v_2": -1, "c": 0,
          "x_1": 2, "x_2": 4, "y": 0}
    assert g.forward(at)[g.output] == R(1, 4)
    grad = {str(k): v for k, v in g.backward().gradient_at(at).items()}
    assert grad == {"w_1_1": R(1, 8), "w_1_2": R(1, 4), "w_2_1": R(-1, 8), "w_2_2": R(-1, 4),
                    "b_1": R(1, 16), "b_2": R(-1, 16), "v_1": R(1, 8), "v_2": R(1, 8), "c": R(1, 4)}


def test_deep_relu_chain():
    g = deep_chain(3, "relu")
    # x = 1, w = (2, 3, 1/2): h = 2, 6, 3; dJ/dw_1 = x w_2 w_3 = 3/2, dJ/dw_2 = h_1 w_3 = 1, dJ/dw_3 = h_2 = 6
    grad = g.backward().gradient_at({"x": 1, "w_1": 2, "w_2": 3, "w_3": R(1, 2)})
    assert list(grad.values()) == [R(3, 2), 1, 6]


def test_deep_sigmoid_chain_is_a_product_of_quarter_bounded_factors():
    g = deep_chain(4, "sigmoid")
    # at w = 0 every a_k = 0 and σ′(0) = 1/4; dJ/dw_4 = σ′(a_4) h_3 = 1/4 · 1/2
    grad = g.backward().gradient_at({"x": 1, "w_1": 0, "w_2": 0, "w_3": 0, "w_4": 0})
    assert grad[sp.Symbol("w_4", real=True)] == R(1, 8)
    assert grad[sp.Symbol("w_1", real=True)] == 0  # the chain passes through w_2 = 0


@pytest.mark.parametrize("builder", [cos_sin, gradient_example, lambda: logistic_regression(2),
                                     lambda: two_layer_net(2, 2), lambda: single_neuron_mse(2),
                                     lambda: one_hidden_layer_mse(1, 2), lambda: deep_chain(3, "tanh")])
def test_every_example_verifies(builder):
    assert builder().backward().verify(points=3).agree


def test_bad_example_sizes_are_refused():
    with pytest.raises(GraphError):
        two_layer_net(0, 2)
    with pytest.raises(GraphError):
        deep_chain(3, "swish")


def test_custom_functions_print_in_latex_with_powers():
    assert sp.latex(sigmoid(a) ** 2) == r"\sigma\left(a\right)^{2}"
    assert sp.latex(relu(a)) == r"\operatorname{ReLU}\left(a\right)"
    assert sp.latex(softplus(a) ** 3) == r"\operatorname{softplus}\left(a\right)^{3}"


def test_generated_names_keep_their_branch_index():
    g = Graph.from_expr("sigmoid(2x^3 + log(x^6 + 1))")
    assert [str(n) for n in g.nodes] == ["s1 = x**6", "t1 = s1 + 1", "u1 = log(t1)", "t2 = x**3", "u2 = 2*t2",
                                         "u = u1 + u2", "J = σ(u)"]


# --- verify(): both sides from their own sources, a wrong adjoint is caught ---------------------------

def _with_wrong_adjoint(backward, of, wrong):
    """Plant a mistake in the backward pass: the adjoint of `of` replaced before the program is built."""
    adjoints = dict(backward.adjoints)
    adjoints[of] = wrong(adjoints[of])
    backward.__dict__["adjoints"] = adjoints  # what the cached property would hold
    return backward


def test_verify_catches_a_wrong_adjoint_of_one_parameter():
    g = two_layer_net(2, 2)
    alpha = g.symbol("alpha_1_2")
    report = _with_wrong_adjoint(g.backward(), alpha, lambda e: 2 * e).verify()
    assert not report.agree and not report[alpha].agree
    assert "different at" in report[alpha].how
    assert all(r.agree for r in report.results if r.variable != alpha)


def test_verify_catches_a_wrong_intermediate_adjoint_in_every_variable_it_feeds():
    g = two_layer_net(3, 2)
    a_1 = g.symbol("a_1")  # dJ/da_1 feeds dJ/dalpha_1_i only
    report = _with_wrong_adjoint(g.backward(), a_1, lambda e: e + sp.Rational(1, 10**30)).verify()
    wrong = {r.variable.name for r in report.results if not r.agree}
    assert wrong == {"alpha_1_1", "alpha_1_2", "alpha_1_3"}


def test_verify_values_at_its_points_are_the_exact_derivative():
    g = Graph.from_steps("a = x*y + x^3\nJ = a^2 - y")  # rational: every check is exact
    expr = g.expr
    report = g.backward().verify(points=4, seed=3)
    for r in report.results:
        truth = sp.diff(expr, r.variable)
        assert len(r.equivalence.checks) == 4
        for c in r.equivalence.checks:
            assert c.exact and c.left == c.right == truth.subs(c.point)


def test_verify_skips_points_outside_the_domain_and_keeps_looking():
    report = Graph.from_steps("u = log(x)\nJ = u*y + sqrt(x)").backward().verify(points=5)
    assert report.agree
    for r in report.results:
        assert len(r.equivalence.checks) == 5
        assert all(c.point[sp.Symbol("x", real=True)] > 0 for c in r.equivalence.checks)


def test_verify_raises_precision_where_a_sigmoid_saturates():
    # w*x up to ±900: 1 − σ(wx) is e^(−900) and needs hundreds of digits; sympy at 600 digits agrees
    g = Graph.from_steps("s = 1/(1 + exp(-w*x))\nJ = log(1 - s)")
    report = g.backward().verify(points=5, seed=2)
    assert report.agree
    r = report["w"]
    assert len(r.equivalence.checks) == 5
    for c in r.equivalence.checks:
        expected = sp.N(sp.diff(g.expr, r.variable).subs(c.point), 60, maxn=2000)
        assert abs(expected - c.right) <= sp.Float("1e-40") * abs(expected)


def test_verify_says_which_variables_were_proved_symbolically():
    report = one_hidden_layer_mse(1, 2).backward().verify(proofs=2)  # 7 parameters
    proved = [r for r in report.results if "proved equal" in r.how]
    assert report.agree and len(proved) == 2 and len(report.results) == 7
    assert all("symbolic proof tried on a sample" in r.how for r in report.results if r not in proved)
    large = two_layer_net(2, 2).backward().verify(proofs=6)  # differences of 227 operations
    assert large.agree and all(r.proof == "too large" and "no symbolic proof" in r.how for r in large.results)


# --- speed-ups that must not change a printed form ----------------------------------------------------

FAST_PATH_GRAPHS = [cos_sin, lambda: two_layer_net(3, 2), lambda: classifier(2, 2, "relu"),
                    lambda: deep_net(2, 2, "tanh"),
                    lambda: Graph.from_steps("a = 3*w*x - w*y\nb = w^2*a\nJ = a*b + exp(-w*x)")]


@pytest.mark.parametrize("builder", FAST_PATH_GRAPHS)
def test_local_derivatives_are_sympys_own_expressions(builder):
    b_ = builder().backward(builder().inputs)
    for edge in b_.edges:
        node = b_.graph.node(edge.child)
        if backward_module.OWN_VALUE_RULES.get(node.definition.func) is None:
            assert edge.local == sp.diff(node.definition, edge.parent)  # the same expression, not just equal


@pytest.mark.parametrize("builder", FAST_PATH_GRAPHS)
def test_gradient_in_the_inputs_is_the_plain_xreplace_result(builder):
    g = builder()
    b_ = g.backward(g.inputs)
    for v in b_.wrt:  # the substitution as first written: adjoints right to left, then nodes
        expr = b_.adjoints[v]
        for target, value in reversed(list(b_.adjoints.items())):
            expr = expr.xreplace({b_.adjoint_symbol(target): value})
        for node in reversed(g.nodes):
            expr = expr.xreplace({node.symbol: node.definition})
        assert b_.gradient(v) == expr and str(b_.gradient(v)) == str(expr)


@pytest.mark.parametrize("source", ["abs(x)*y", "sign(x)*x^2", "max(x, y)^2 + min(x, y)", "x^(1/3) + (x*y)^(3/2)",
                                    "asin(x/40) + acos(y/40) + atan(x*y)", "relu(x - y) + softplus(x*y)"])
def test_verify_finds_its_points_for_every_function_the_parser_knows(source):
    report = Graph.from_expr(source).backward().verify(proofs=0)
    assert report.agree and all(len(r.equivalence.checks) == 5 for r in report.results), str(report)


def test_greek_names_typed_for_a_point_or_a_variable_are_the_program_names():
    """`--at θ=1/2 --wrt θ` named the input the program reads as theta; before: 'θ' is neither an input nor a
    node (attack 2026-11-23). J = (θx)² at θ = 1/2, x = 3 is 9/4; dJ/dθ = 2θx² = 9 (by hand)."""
    g = Graph.from_steps("z = θ*x\nJ = z^2")
    theta = sp.Symbol("theta", real=True)
    assert g.symbol("θ") == theta
    values = g.forward({"θ": sp.Rational(1, 2), "x": 3})
    assert values[g.symbol("J")] == sp.Rational(9, 4)
    b = g.backward(["θ"])
    assert b.gradient(g.symbol("θ")).subs({theta: sp.Rational(1, 2), sp.Symbol("x", real=True): 3}) == 9
