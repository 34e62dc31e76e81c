"""The sample set in exercises/ is exactly what the command in exercises/README.md generates."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.exercises import TEMPLATES

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = re.findall(r"^symbackprop (exercises generate .+)$", (ROOT / "exercises" / "README.md").read_text(),
                      flags=re.MULTILINE)


def test_the_readme_names_the_commands():
    assert len(COMMANDS) == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_regenerating_the_sample_gives_the_same_bytes(command, tmp_path):
    args = command.split()
    out = ROOT / args[args.index("--out") + 1]
    args[args.index("--out") + 1] = str(tmp_path)
    assert main(args) == 0
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    stored = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(fresh) == sorted(stored)
    for name in fresh:
        assert fresh[name] == stored[name], f"{out.name}/{name} differs from a fresh generation"
    assert len([n for n in fresh if n[:2].isdigit()]) == len(TEMPLATES)  # one of each template


def _generate_on_a_slower_machine(monkeypatch, out, slower: float) -> dict[str, bytes]:
    """The worksheets' command on a machine `slower` times slower: every wall-clock budget (the proof
    timer and the node form's clock) runs out that much sooner."""
    import signal
    import time

    import symbackprop.core.nodeform as nodeform

    real_setitimer, real_monotonic = signal.setitimer, time.monotonic
    monkeypatch.setattr(signal, "setitimer", lambda which, seconds, *interval: real_setitimer(which, seconds / slower,
                                                                                               *interval))
    monkeypatch.setattr(nodeform, "time", type("Clock", (), {"monotonic": staticmethod(lambda: real_monotonic() * slower)}))
    command = next(c for c in COMMANDS if "worksheets" in c).split()
    command[command.index("--out") + 1] = str(out)
    assert main(command) == 0
    return {name: (out / name).read_bytes() for name in ("key.md", "key.json")}


def test_a_busy_machine_generates_the_same_key(monkeypatch, tmp_path):
    """Budgets keep `explain` interactive; a key is generated unhurried, so a machine ten times slower (a
    busy one) writes the same key, where without that the key's node forms would come out unsimplified."""
    import contextlib

    import symbackprop.exercises.templates as templates

    stored = ROOT / "exercises" / "worksheets"
    fresh = _generate_on_a_slower_machine(monkeypatch, tmp_path / "unhurried", 10)
    for name, data in fresh.items():
        assert data == (stored / name).read_bytes(), name
    monkeypatch.setattr(templates, "unhurried", contextlib.nullcontext)  # the test can tell: without it, a difference
    hurried = _generate_on_a_slower_machine(monkeypatch, tmp_path / "hurried", 10)
    assert hurried["key.md"] != (stored / "key.md").read_bytes()
