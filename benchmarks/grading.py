"""Grading speed, hostile-input timings and corpus accuracy of `symbackprop check`.

    python benchmarks/grading.py

1. A batch of typical answers (the equivalence corpus, twice: many students answer the same question),
   each checked the way `symbackprop check --batch` does, in one worker process with its 3 s limit.
   Prints the median, 90th percentile and worst milliseconds per answer. Target: median ≤ 20 ms.
2. Every hostile input of tests/data/check_hostile.json as an answer: time, status, and whether any
   code ran (a sentinel file) or a traceback appeared. Target: none over its limit, 0 runs, 0 tracebacks.
3. Accuracy of the verdicts on the hand-derived corpus tests/data/check_corpus.tsv.
4. The adversarial corpora (tests/data/adversarial_cheats.tsv, and adversarial_answers.tsv when present):
   wrong answers built to fool a point-sampler. Target: 0 graded correct, none over its time limit.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from symbackprop.cli.check import check_one
from symbackprop.check.worker import TIME_LIMIT, Worker

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SENTINEL = Path("/tmp/symbackprop_pwned")
STATUS = {"c": "correct", "i": "incorrect", "v": "invalid"}


def corpus() -> list[tuple[dict, str]]:
    rows = [line.split("\t") for line in (DATA / "check_corpus.tsv").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [({"function": f, "wrt": w, "answer": a}, STATUS[v.strip()]) for f, w, a, v in rows]


def adversarial() -> list[tuple[dict, str, str]]:
    """(item, trick, expected verdict) for every row of the adversarial corpora. adversarial_cheats.tsv
    holds wrong answers only; adversarial_answers.tsv says per row (traps a sound checker must accept,
    such as 2x + sin(pi), are 'correct' there)."""
    rows = []
    for name in ("adversarial_cheats.tsv", "adversarial_answers.tsv"):
        path = DATA / name
        if not path.exists():
            continue
        lines = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        header = lines[0] if lines and lines[0][:3] == ["function", "wrt", "answer"] else None
        for cells in lines[1:] if header else lines:
            row = dict(zip(header, cells)) if header else {"trick": cells[-1]}
            item = {"function": cells[0], "wrt": cells[1], "answer": cells[2]}
            rows.append((item, row.get("trick", ""), row.get("expected", "incorrect")))
    return rows


def main() -> None:
    items = corpus()
    with Worker(TIME_LIMIT) as worker:
        check_one({"function": "x", "wrt": "x", "answer": "1"}, worker)  # start the worker
        times, right = [], 0
        for item, expected in items + items:
            start = time.perf_counter()
            verdict = check_one(item, worker)
            times.append((time.perf_counter() - start) * 1000)
        for item, expected in items:
            right += check_one(item, worker).status == expected
        times.sort()
        print(f"1. batch of {len(times)} typical answers, one worker process: median {statistics.median(times):.1f} ms, "
              f"p90 {times[int(0.9 * len(times))]:.1f} ms, worst {times[-1]:.1f} ms per answer")

        hostile = json.loads((DATA / "check_hostile.json").read_text())
        SENTINEL.unlink(missing_ok=True)
        worst, tracebacks, statuses = 0.0, 0, {}
        print(f"2. {len(hostile)} hostile answers (limit {TIME_LIMIT:g} s each):")
        for text in hostile:
            start = time.perf_counter()
            verdict = check_one({"function": "x^3", "wrt": "x", "answer": text}, worker)
            took = time.perf_counter() - start
            worst = max(worst, took)
            tracebacks += "Traceback" in verdict.message
            statuses[verdict.status] = statuses.get(verdict.status, 0) + 1
            shown = repr(text if len(text) < 40 else text[:30] + f"... ({len(text)} chars)")
            print(f"   {took * 1000:8.1f} ms  {verdict.status:9s} {shown}")
        print(f"   worst {worst * 1000:.0f} ms; statuses {statuses}; code executed: {SENTINEL.exists()}; "
              f"tracebacks: {tracebacks}")
        cheats = adversarial()
        fooled, refused, worst, statuses = [], [], 0.0, {}
        for item, trick, expected in cheats:
            start = time.perf_counter()
            verdict = check_one(item, worker)
            worst = max(worst, time.perf_counter() - start)
            statuses[verdict.status] = statuses.get(verdict.status, 0) + 1
            line = f"{item['answer']} for d/d{item['wrt']} {item['function']} ({trick})"
            if verdict.status == "correct" and expected != "correct":
                fooled.append(line)
            elif verdict.status != "correct" and expected == "correct":
                refused.append(f"{line}: graded {verdict.status}")
    print(f"3. corpus accuracy: {right}/{len(items)} verdicts right ({100 * right / len(items):.1f} %)")
    wrong = sum(expected != "correct" for _, _, expected in cheats)
    print(f"4. {len(cheats)} adversarial answers ({wrong} wrong, {len(cheats) - wrong} right but built to be refused): "
          f"{len(fooled)} wrong ones graded correct, {len(refused)} right ones refused; statuses {statuses}; "
          f"worst {worst * 1000:.0f} ms (limit {TIME_LIMIT:g} s)")
    for line in fooled:
        print(f"   FOOLED: {line}")
    for line in refused:
        print(f"   REFUSED: {line}")


if __name__ == "__main__":
    main()
