"""Preview one or more pages: build them alone, as a tiny book, with warnings as errors.

Usage: python scripts/build_page.py [--keep DIR] book/principles/01_conversation.md [more pages...]

The pages are built in a temporary folder (``/tmp/mp_page_<name>``) with the
project's ``_config.yml`` and bibliography, so authors can iterate on a page
without touching ``_build`` (which ``make book`` owns). Prints the warnings and
the path of the HTML.

``--keep DIR`` also copies the executed pages and their glued values into
``DIR/jupyter_execute/book/...``, where the book tests read them
(``BOOK_BUILD=DIR pytest tests/test_book_physics.py``; ``--keep _build`` updates the main build).
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(pages):
    keep = None
    if pages[:1] == ["--keep"]:
        if len(pages) < 2:
            print("error: --keep needs a folder", file=sys.stderr)
            return 2
        keep, pages = Path(pages[1]).resolve(), pages[2:]
    if not pages:
        print(__doc__)
        return 2
    pages = [Path(p).resolve().relative_to(ROOT) for p in pages]
    work = Path("/tmp") / f"mp_page_{pages[0].stem}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (ROOT / "dist").mkdir(exist_ok=True)  # the practice page links the wheel it builds there
    for name in ["book", "references.bib", "_config.yml", "node_modules", "exercises", "_static", "scripts",
                 "dist"]:
        if (ROOT / name).exists():
            (work / name).symlink_to(ROOT / name)
    toc = ["format: jb-book", f"root: {pages[0].with_suffix('')}"]
    extra = [p for p in pages[1:]] + [Path("book/bibliography.md")]
    toc += ["chapters:"] + [f"  - file: {p.with_suffix('')}" for p in extra if p != pages[0]]
    (work / "_toc.yml").write_text("\n".join(toc) + "\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "jb.py"), "build", str(work), "-W", "--keep-going", "-n"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    out = proc.stdout + proc.stderr
    problems = [l for l in out.splitlines()
                if ("WARNING" in l or "ERROR" in l or "Traceback" in l) and "IPKernelApp" not in l]
    for line in problems:
        print(line)
    for report in sorted((work / "_build" / "html" / "reports").rglob("*.log")):
        print(f"--- {report} ---\n{report.read_text()[-4000:]}")
    reports = work / "_build" / "html" / "reports"
    executed = not (reports.exists() and any(reports.rglob("*.log"))) and "Executing notebook failed" not in out
    if keep is not None and executed:   # kept even if only a link to another page warned
        for page in pages:
            for built in (work / "_build" / "jupyter_execute" / page.parent).glob(page.stem + ".*"):
                target = keep / "jupyter_execute" / page.parent / built.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(built, target)
        print(f"executed pages kept in {keep / 'jupyter_execute'}")
    status = "OK" if proc.returncode == 0 else "FAILED"
    print(f"{status} in {elapsed:.1f} s: {work / '_build' / 'html' / pages[0].with_suffix('.html')}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
