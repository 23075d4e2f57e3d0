"""Step ``feedback``: HTML feedback per graded submission, without hidden tests."""

from pathlib import Path

from .release import find_leaks
from .tools import PipelineError, convert

__all__ = ["feedback"]


def feedback(root, assignment):
    """HTML feedback for every graded submission, checked for leaks of hidden content."""
    graded = sorted(p.parent.name for p in (Path(root) / "autograded").glob(f"*/{assignment}")
                    if not p.parent.name.startswith("."))  # autograded/.status/ is not a student
    if not graded:
        raise PipelineError(f"nothing autograded for {assignment!r}; run autograde first")
    convert(root, "generate_feedback", assignment)
    leaks = find_leaks(Path(root) / "feedback")
    if leaks:
        raise PipelineError("the feedback leaks hidden content:\n" + "\n".join(leaks))
    return graded
