"""Step ``feedback``: HTML feedback per graded submission, without hidden tests.

Each page starts with the score that goes to the grade (the export's: verified outside the
student's kernel, :mod:`course.verify`), and says in plain words why it differs from the
score nbgrader's page shows, when it does (:func:`course.verify.submission.score_note`).
"""

import html
from pathlib import Path

from nbgrader.api import MissingEntry

from ..verify.submission import score_note
from ..cells import cell_key
from .gradebook import open_gradebook
from .release import find_leaks
from .status import read_status
from .tools import PipelineError, convert

__all__ = ["feedback"]


def feedback(root, assignment):
    """HTML feedback for every graded submission, checked for leaks of hidden content."""
    graded = sorted(p.parent.name for p in (Path(root) / "autograded").glob(f"*/{assignment}")
                    if not p.parent.name.startswith("."))  # autograded/.status/ is not a student
    if not graded:
        raise PipelineError(f"nothing autograded for {assignment!r}; run autograde first")
    convert(root, "generate_feedback", assignment)
    add_score_notes(root, assignment)
    leaks = find_leaks(Path(root) / "feedback")
    if leaks:
        raise PipelineError("the feedback leaks hidden content:\n" + "\n".join(leaks))
    return graded


def add_score_notes(root, assignment):
    """Put the score that goes to the grade at the top of every feedback page of ``assignment``."""
    root = Path(root)
    with open_gradebook(root) as gb:
        notebooks = sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        for page in sorted((root / "feedback").glob(f"*/{assignment}/*.html")):
            student, notebook = page.parent.parent.name, page.stem
            if notebook not in notebooks:
                continue
            status = read_status(root, assignment, student, gb)
            try:
                grades = gb.find_submission_notebook(notebook, assignment, student).grades
            except MissingEntry:
                continue
            keys = {g.name: cell_key(notebook, g.name, len(notebooks)) for g in grades}
            manual = {keys[g.name]: g.manual_score for g in grades}
            maxima = {keys[g.name]: g.max_score for g in grades}
            kernel = status.scores or {keys[g.name]: g.auto_score for g in grades}
            head, details = score_note(kernel, status.verified, maxima, manual, cells=list(keys.values()))
            _insert(page, head, details)


def _insert(page, head, details):
    note = ('<div class="panel panel-info" id="course-score-note"><div class="panel-body">'
            f"<p><strong>{html.escape(head)}</strong></p>")
    if details:
        note += "<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in details) + "</ul>"
    note += "</div></div>"
    text = page.read_text(encoding="utf-8")
    old = text.find('<div class="panel panel-info" id="course-score-note">')
    if old >= 0:  # a page that has its note already (feedback run again): replace it
        text = text[:old] + text[text.index("</div></div>", old) + len("</div></div>"):]
    anchor = '<a name="top"></a>'
    at = text.find(anchor)
    at = at + len(anchor) if at >= 0 else text.find(">", text.find("<body")) + 1
    page.write_text(text[:at] + note + text[at:], encoding="utf-8")
