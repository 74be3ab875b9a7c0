"""Time ``bpkit-course grade`` on a class of submissions of one chapter.

    python benchmarks/bench_grade.py [--chapter 1] [--students 100] [--jobs 2]

The class is built from the chapter's exercise notebook: a third solve everything, a third
leave the first exercise unsolved, a third hand it in unsolved. Every submission runs in
its own contained process (bubblewrap where available), and its checks are graded in the
grader, into a fresh gradebook. Prints the wall time, the time per submission and the points
histogram, and exits with status 1 if a grade is not the expected one.
"""

from __future__ import annotations

import argparse
import collections
import copy
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _notebook(stem, kind):
    nb = json.loads((ROOT / "exercises" / f"{stem}.ipynb").read_text())
    if kind == "unsolved":
        return nb
    solutions = {_gid(c): "".join(c["source"]) for c in json.loads((ROOT / "solutions" / f"{stem}.ipynb")
                                                                   .read_text())["cells"]}
    nb = copy.deepcopy(nb)
    first = True
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            if not (kind == "partial" and first):
                cell["source"] = solutions[_gid(cell)]
            first = False
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", type=int, default=1)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bpkit import course
    from bpkit.course._contain import containment

    ch = course.chapters(ROOT, [args.chapter])[0]
    stem = ch.stem
    kinds = ["solved", "partial", "unsolved"]
    expected = {"solved": ch.points, "partial": ch.points - ch.exercises[0].points, "unsolved": 0}
    with tempfile.TemporaryDirectory(prefix="bpfs-bench-grade-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        who = {}
        for i in range(args.students):
            kind = kinds[i % 3]
            name = f"student{i:03d}"
            who[name] = kind
            (subs / f"{name}_{stem}.ipynb").write_text(json.dumps(_notebook(stem, kind)))
        started = time.perf_counter()
        csv_path, _, _ = course.grade(sorted(subs.glob("*.ipynb")), Path(tmp) / "out", ROOT, timeout=args.timeout,
                                      jobs=args.jobs, log=lambda m: None, seed=1)
        wall = time.perf_counter() - started
        rows = [r for r in csv.DictReader(csv_path.open()) if r["student"] != "(max points)"]
    wrong = [r["student"] for r in rows if float(r["total"]) != expected[who[r["student"]]]]
    hist = collections.Counter(float(r["total"]) for r in rows)
    print(f"{args.students} Chapter {args.chapter} submissions, --jobs {args.jobs}, {os.cpu_count()} CPUs, "
          f"contained by {containment()}")
    print(f"wall time {wall:.1f} s, {wall / args.students:.2f} s per submission")
    print("points: " + ", ".join(f"{k:g}: {v}" for k, v in sorted(hist.items())))
    if wrong:
        print(f"unexpected grades for {len(wrong)} submission(s): {', '.join(wrong[:5])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
