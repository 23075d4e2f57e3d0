"""Build the website with Jupyter Book 1.x and report the time it took.

Usage: python scripts/build_book.py [--clean]

``--clean`` deletes ``_build`` first, so every page is executed again (what CI
does: a cached build would not re-run an unchanged page and could hide a broken
one). Warnings are errors (``-W --keep-going``). On failure the pages that
produced a warning or error are listed with the reason.
"""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"


def main(argv):
    clean = "--clean" in argv
    if clean and BUILD.exists():
        shutil.rmtree(BUILD)
    BUILD.mkdir(exist_ok=True)
    if not (ROOT / "node_modules" / ".site" / "mathjax").exists():
        print("error: the local MathJax copy is missing; run `make venv` (or `make book`) first", file=sys.stderr)
        return 1
    cmd = [sys.executable, str(ROOT / "scripts" / "jb.py"), "build", str(ROOT), "-W", "--keep-going", "-n"]
    start = time.perf_counter()
    log_path = BUILD / "build.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            log.write(line)
            lines.append(line.rstrip("\n"))
            noise = "IPKernelApp" in line  # the kernel warns about TCP on every start; harmless here
            if not noise and (not clean or "WARNING" in line or "ERROR" in line or "executing" in line.lower()):
                print(line, end="")
        proc.wait()
    elapsed = time.perf_counter() - start
    kind = "clean" if clean else "incremental"
    if proc.returncode != 0:
        problems = [l for l in lines if re.search(r"(WARNING|ERROR|Execution Failed|Traceback)", l)]
        print(f"\nBOOK BUILD FAILED ({kind}, {elapsed:.1f} s). Pages and reasons:", file=sys.stderr)
        for line in problems[:50]:
            print("  " + line, file=sys.stderr)
        reports = sorted((BUILD / "html" / "reports").rglob("*.err.log")) if (BUILD / "html" / "reports").exists() else []
        for report in reports:
            print(f"\n--- execution traceback: {report.relative_to(ROOT)} ---", file=sys.stderr)
            print(report.read_text()[-3000:], file=sys.stderr)
        print(f"Full log: {log_path.relative_to(ROOT)}", file=sys.stderr)
        return 1
    print(f"\nBook built ({kind}) in {elapsed:.1f} s.")
    print(f"Open {BUILD / 'html' / 'index.html'} in a browser,")
    print(f"or serve it: {sys.executable} -m http.server -d {BUILD / 'html'} 8000")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
