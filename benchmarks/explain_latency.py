"""How long a student waits for `symbackprop explain`, whole process, against `explain x^2` (issue 12).

Run:  .venv/bin/python benchmarks/explain_latency.py [--repeat 3]

Each command runs as `python -m symbackprop explain ...` in a fresh process (start-up included), the
median of `--repeat` runs; the ratio is against `explain "x^2"` measured in the same run (the start-up
cost: importing sympy and symbackprop). Target: every program up to 20 lines, and the 4×3 net with
respect to all its inputs, within 3× of that. CPU seconds are printed too, as the machine may be shared.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from symbackprop.core.examples import two_layer_net

# karpathy/micrograd, test/test_engine.py, test_more_ops (e renamed k: e is Euler's number here);
# micrograd's answers: dg/da = 138.8338, dg/db = 645.5773 at a = −4, b = 2.
MICROGRAD = """c = a + b
d = a*b + b^3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d*2 + relu(b + a)
d = d + 3*d + relu(b - a)
k = c - d
f = k^2
g = f/2
g = g + 10/f
"""

# 20 lines: a 2-3-1 classifier written out by hand, with a regulariser (every function the parser knows).
TWENTY_LINES = """h1 = w11*x1 + w12*x2 + b1
h2 = w21*x1 + w22*x2 + b2
h3 = w31*x1 + w32*x2 + b3
g1 = tanh(h1)
g2 = sigmoid(h2)
g3 = relu(h3)
s = v1*g1 + v2*g2 + v3*g3 + c
p = sigmoid(s)
l1 = -y*log(p)
l2 = -(1 - y)*log(1 - p)
L = l1 + l2
r1 = w11^2 + w12^2 + w21^2
r2 = w22^2 + w31^2 + w32^2
r = r1 + r2
q = softplus(v1) + exp(-v2^2) + sin(v3)
m = sqrt(1 + c^2)
reg = lam*r + q/10
t = L + reg
u = t*m
J = log(1 + u^2)
"""


# Held-out style programs written for issue 12 (not tuned against): each exercises what the two above do not.
# A 3-2-2-1 net with tanh layers and a squared error (all 21 inputs are variables).
TANH_MSE = """a1 = w11*x1 + w12*x2 + w13*x3 + b1
a2 = w21*x1 + w22*x2 + w23*x3 + b2
h1 = tanh(a1)
h2 = tanh(a2)
c1 = u11*h1 + u12*h2 + d1
c2 = u21*h1 + u22*h2 + d2
k1 = tanh(c1)
k2 = tanh(c2)
o = v1*k1 + v2*k2 + c0
err = o - t
J = err^2/2
"""

# Fan-out (s, d, n, a, r, q each read 2-4 times), division, sqrt, Abs, Max, exp, log.
FAN_OUT = """s = x + y
d = x - y
n = sqrt(s^2 + d^2 + eps)
a = abs(d)/n
m = Max(s, 0)
r = m/(1 + a)
q = r*s + a*d
k = exp(-q^2)
w = log(1 + exp(r))
z = k*w/(x^2 + 1)
J = z + q/n
"""

# A stable softmax over 3 classes (Max-shifted) with cross-entropy and weight decay.
SOFTMAX = """z1 = w1*x + b1
z2 = w2*x + b2
z3 = w3*x + b3
m = Max(z1, z2, z3)
e1 = exp(z1 - m)
e2 = exp(z2 - m)
e3 = exp(z3 - m)
S = e1 + e2 + e3
p1 = e1/S
p2 = e2/S
p3 = e3/S
L = -(y1*log(p1) + y2*log(p2) + y3*log(p3))
R = (w1^2 + w2^2 + w3^2)/2
J = L + lam*R
"""


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one `python -m symbackprop explain ...` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "symbackprop", "explain", *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "Verdict: the chain rule agrees" not in done.stdout:
        raise SystemExit(f"explain {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="explain-latency-"))
    (folder / "micrograd.txt").write_text(MICROGRAD)
    (folder / "twenty.txt").write_text(TWENTY_LINES)
    for name, program in (("tanh_mse", TANH_MSE), ("fan_out", FAN_OUT), ("softmax", SOFTMAX)):
        (folder / f"{name}.txt").write_text(program)
    net = two_layer_net(4, 3)
    (folder / "net43.txt").write_text(str(net) + "\n")
    cases = [
        ('explain "x^2" (start-up)', ["x^2"]),
        ('explain "cos(sin(x^2) + 3x^2)" --at x=1/2', ["cos(sin(x^2) + 3x^2)", "--at", "x=1/2"]),
        ("micrograd test_more_ops, 10 lines, --at a=-4,b=2",
         ["--steps", str(folder / "micrograd.txt"), "--wrt", "a,b", "--at", "a=-4,b=2"]),
        ("20-line classifier, all 17 inputs", ["--steps", str(folder / "twenty.txt")]),
        ("two_layer_net(4, 3), all 20 inputs",
         ["--steps", str(folder / "net43.txt"), "--wrt", ",".join(map(str, net.inputs))]),
        ("3-2-2-1 tanh net, squared error, 11 lines", ["--steps", str(folder / "tanh_mse.txt")]),
        ("fan-out, sqrt, abs, Max, 11 lines", ["--steps", str(folder / "fan_out.txt")]),
        ("softmax + cross-entropy + decay, 14 lines", ["--steps", str(folder / "softmax.txt")]),
    ]
    print(f"{'command':<52} {'wall s':>7} {'/x^2':>6} {'cpu s':>7} {'/x^2':>6}")
    base_wall = base_cpu = None
    for label, args in cases:
        runs = [run(args) for _ in range(options.repeat)]
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        base_wall, base_cpu = base_wall or wall, base_cpu or cpu
        print(f"{label:<52} {wall:>7.2f} {wall / base_wall:>5.1f}x {cpu:>7.2f} {cpu / base_cpu:>5.1f}x", flush=True)


if __name__ == "__main__":
    main()
