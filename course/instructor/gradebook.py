"""The course's gradebook: the one place that knows where it lives and opens it.

Every step opens nbgrader's :class:`~nbgrader.api.Gradebook` through :func:`open_gradebook`,
for the course directory or for a worker's private copy of it.
"""

from pathlib import Path

from nbgrader.api import Gradebook

__all__ = ["gradebook_path", "has_gradebook", "open_gradebook", "roster"]


def gradebook_path(root):
    """The SQLite file of the gradebook of the course directory ``root``."""
    return Path(root) / "gradebook.db"


def has_gradebook(root):
    """Whether the course directory ``root`` has a gradebook yet (opening one creates it)."""
    return gradebook_path(root).exists()


def open_gradebook(root):
    """nbgrader's :class:`~nbgrader.api.Gradebook` of the course directory ``root`` (a context manager)."""
    return Gradebook(f"sqlite:///{gradebook_path(root)}")


def roster(root, assignment):
    """Every student: those in the gradebook plus those with a submission folder."""
    students = {p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}") if p.is_dir()}
    if has_gradebook(root):
        with open_gradebook(root) as gb:
            students |= {s.id for s in gb.students}
    return sorted(students)
