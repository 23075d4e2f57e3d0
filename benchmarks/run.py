"""Run every benchmark in this folder and print one table of speed-ups.

Each ``benchmarks/bench_*.py`` either exposes ``cases()``, a list of
``(name, baseline_name, baseline_fn, ours_fn[, target_ratio])`` timed here
(best of a few runs, after checking both give the same result), or a ``main()``
that measures and prints something that is not a plain timing (e.g. grading
throughput). Run with ``make bench``; pass names to run a subset:
``python benchmarks/run.py propagate wl``.
"""

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# Benchmarks with an environment of their own (PyTorch Geometric is not a dependency of .venv).
SEPARATE = {"bench_pyg": "make bench-pyg"}


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def same_result(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-4)
    return True  # benchmarks returning other objects check agreement themselves


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(selected):
    sys.path.insert(0, str(HERE))
    rows, failures = [], 0
    for path in sorted(HERE.glob("bench_*.py")):
        if selected and not any(s in path.stem for s in selected):
            continue
        if path.stem in SEPARATE:
            print(f"\n== {path.stem} == run by `{SEPARATE[path.stem]}`, not here")
            continue
        module = load(path)
        if hasattr(module, "cases"):
            for case in module.cases():
                name, base_name, base_fn, ours_fn, *target = case
                target = target[0] if target else None
                agree = same_result(base_fn(), ours_fn())
                t_base = best_time(base_fn, 2)
                t_ours = best_time(ours_fn, 5)
                ratio = t_base / t_ours
                ok = agree and (target is None or ratio >= target)
                failures += not ok
                rows.append((name, base_name, t_base, t_ours, ratio, target, agree, ok))
                print(f"  measured {name}: {ratio:.1f}x", file=sys.stderr)
        elif hasattr(module, "main"):
            print(f"\n== {path.stem} ==")
            failures += bool(module.main([]))  # argv: the defaults of each benchmark
    if rows:
        print()
        head = f"{'case':<46} {'baseline':<22} {'base s':>8} {'ours s':>8} {'ratio':>7} {'target':>7}  result"
        print(head)
        print("-" * len(head))
        for name, base, tb, to, ratio, target, agree, ok in rows:
            tgt = f">={target:g}x" if target else "-"
            verdict = "ok" if ok else ("DIFFERENT RESULT" if not agree else "BELOW TARGET")
            print(f"{name:<46} {base:<22} {tb:>8.3f} {to:>8.3f} {ratio:>6.1f}x {tgt:>7}  {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
