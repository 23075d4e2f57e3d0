"""Steps ``collect`` and ``zip-collect``: submissions into ``submitted/<student>/<assignment>/``."""

import shutil
from pathlib import Path

from .tools import nbgrader

__all__ = ["collect", "zip_collect"]


def collect(root, assignment, source=None):
    """Copy submissions into ``submitted/<student>/<assignment>/``.

    With ``source``: a directory with one folder per student, holding the
    notebooks directly or in an ``<assignment>/`` subfolder. Without: nbgrader's
    exchange (``nbgrader collect``, for JupyterHub set-ups).
    """
    if source is None:
        nbgrader(root, "collect", assignment)
        return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}"))
    students = []
    for folder in sorted(Path(source).iterdir()):
        if not folder.is_dir():
            continue
        inner = folder / assignment if (folder / assignment).is_dir() else folder
        files = [f for f in inner.iterdir() if f.is_file()]
        if not files:
            continue
        dest = Path(root) / "submitted" / folder.name / assignment
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in files:
            shutil.copy2(f, dest / f.name)
        students.append(folder.name)
    return students


def zip_collect(root, assignment, archives):
    """Collect an LMS download (zip files or loose notebooks) with ``nbgrader zip_collect``.

    The files go to ``downloaded/<assignment>/archive/``; file names must match
    ``FileNameCollectorPlugin.named_regexp`` in ``nbgrader_config.py``.
    """
    archive_dir = Path(root) / "downloaded" / assignment / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    for item in map(Path, archives):
        if item.is_dir():
            shutil.copytree(item, archive_dir / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, archive_dir / item.name)
    nbgrader(root, "zip_collect", assignment, "--force")
    return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}"))
