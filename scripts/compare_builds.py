"""Compare two built sites file by file: does building twice give the same site?

Usage: python scripts/compare_builds.py DIR_A DIR_B

Prints the files present in only one build and the files whose bytes differ (with the first
differing line for text files); exits 1 if there is any difference. To check the book:

    .venv/bin/jupyter-book build . --path-output /tmp/a && .venv/bin/jupyter-book build . --path-output /tmp/b
    .venv/bin/python scripts/compare_builds.py /tmp/a/_build/html /tmp/b/_build/html
"""

import sys
from pathlib import Path

# Files Sphinx rewrites with build-specific content that a reader never sees.
IGNORE = {".buildinfo"}


def files(root):
    return {p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file() and p.name not in IGNORE}


def first_difference(a, b):
    try:
        lines_a, lines_b = a.read_text().splitlines(), b.read_text().splitlines()
    except UnicodeDecodeError:
        return "binary files differ"
    for number, (line_a, line_b) in enumerate(zip(lines_a, lines_b), start=1):
        if line_a != line_b:
            return f"line {number}: {line_a[:100]!r} != {line_b[:100]!r}"
    return f"lengths differ ({len(lines_a)} vs {len(lines_b)} lines)"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root_a, root_b = map(Path, argv)
    files_a, files_b = files(root_a), files(root_b)
    problems = [f"only in {root_a}: {f}" for f in sorted(files_a - files_b)]
    problems += [f"only in {root_b}: {f}" for f in sorted(files_b - files_a)]
    for name in sorted(files_a & files_b):
        a, b = root_a / name, root_b / name
        if a.read_bytes() != b.read_bytes():
            problems.append(f"differs: {name}: {first_difference(a, b)}")
    for line in problems:
        print(line)
    print(f"{len(files_a & files_b)} files compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
