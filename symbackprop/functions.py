"""The activation functions of neural networks as sympy functions with exact derivatives.

>>> from sympy import Symbol, diff
>>> a = Symbol("a", real=True)
>>> diff(sigmoid(a), a)
(1 - σ(a))*σ(a)
>>> softplus(a).diff(a)
σ(a)
>>> sigmoid(a).rewrite("exp")
1/(1 + exp(-a))
"""
from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):
    """σ(a) = 1 / (1 + e^(−a)); σ′ = σ(1 − σ)."""

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.Rational(1, 2)

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return 1 / (1 + sp.exp(-a))

    _eval_rewrite_as_elementary = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _sympystr(self, printer):
        return f"σ({printer.doprint(self.args[0])})"

    def _latex(self, printer, exp=None):
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="σ")


class relu(sp.Function):
    """ReLU(a) = max(0, a); ReLU′ = Heaviside(a) (0 at a = 0, the usual convention)."""

    @classmethod
    def eval(cls, a):
        if a.is_number and a.is_real:
            return sp.Max(0, a)
        if a.is_nonnegative:
            return a
        if a.is_nonpositive:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, a, **kwargs):
        return sp.Max(0, a)

    _eval_rewrite_as_elementary = _eval_rewrite_as_Max

    def _eval_rewrite_as_Piecewise(self, a, **kwargs):
        return sp.Piecewise((a, a > 0), (0, True))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return self.args[0].is_real

    def _sympystr(self, printer):
        return f"ReLU({printer.doprint(self.args[0])})"

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{ReLU}}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="ReLU")


class softplus(sp.Function):
    """softplus(a) = log(1 + e^a); softplus′ = σ(a)."""

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, a, **kwargs):
        return sp.log(1 + sp.exp(a))

    _eval_rewrite_as_elementary = _eval_rewrite_as_log
    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(self.args[0])._eval_evalf(prec)

    def _sympystr(self, printer):
        return f"softplus({printer.doprint(self.args[0])})"

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


CUSTOM_FUNCTIONS = (sigmoid, relu, softplus)


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite σ, ReLU and softplus into exp, Max and log, so any sympy tool (or `sympify`) reads the result.

    >>> from sympy import Symbol
    >>> to_elementary(sigmoid(Symbol("a")) + relu(Symbol("b")))
    Max(0, b) + 1/(1 + exp(-a))
    """
    if not expr.atoms(*CUSTOM_FUNCTIONS):
        return expr
    return expr.replace(lambda e: isinstance(e, CUSTOM_FUNCTIONS),
                        lambda e: e._eval_rewrite_as_elementary(*e.args))
