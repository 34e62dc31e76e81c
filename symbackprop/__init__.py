"""symbackprop: backpropagation you can read, node by node, checked against direct differentiation.

>>> from symbackprop import Graph
>>> b = Graph.from_expr("cos(sin(x^2) + 3x^2)").backward()
>>> b.verify().agree
True
"""
from .backward import AdjointStep, Backward, Edge, local_derivative
from .errors import GraphError, ParseError, SymbackpropError
from .functions import relu, sigmoid, softplus, to_elementary
from .graph import Graph, Node
from .parse import parse_expr, parse_program
from .verify import Equivalence, Verification, equivalent

__all__ = [
    "AdjointStep", "Backward", "Edge", "Equivalence", "Graph", "GraphError", "Node", "ParseError",
    "SymbackpropError", "Verification", "equivalent", "local_derivative", "parse_expr", "parse_program",
    "relu", "sigmoid", "softplus", "to_elementary",
]
__version__ = "0.1.0"
