"""Step ``release``: generate ``exercises/`` from ``solutions/``, checked for leaks."""

from pathlib import Path

from .plugins import MARKERS
from .tools import PipelineError, convert

__all__ = ["assignments", "find_leaks", "release"]


def assignments(root):
    """Names of the assignments: the directories of ``solutions/`` holding a notebook."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def find_leaks(path, solution_root=None):
    """Lines of files under ``path`` that leak a marker or hidden-test text; empty when clean.

    Checks ``.ipynb`` and ``.html`` files for the nbgrader markers and the hidden
    check call (``course.checks``).
    """
    needles = list(MARKERS) + ["course.checks", "from course"]
    leaks = []
    for file in sorted(Path(path).rglob("*")):
        if file.suffix not in (".ipynb", ".html") or not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        for needle in needles:
            if needle in text:
                leaks.append(f"{file}: contains {needle!r}")
    return leaks


def release(root, names=None):
    """Generate ``exercises/<assignment>`` from ``solutions/`` (and record it in the gradebook)."""
    names = names or assignments(root)
    for name in names:
        convert(root, "generate_assignment", name, ".")
        leaks = find_leaks(Path(root) / "exercises" / name)
        if leaks:
            raise PipelineError("the release leaks hidden content:\n" + "\n".join(leaks))
    return names
