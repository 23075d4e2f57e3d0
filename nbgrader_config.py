"""nbgrader configuration of the course (read by every `nbgrader` command run in this directory).

The instructor's steps are wrapped by `python -m course ...` (see book/instructors.md);
this file holds what nbgrader itself must know.
"""

import os
import sys

_root = os.path.dirname(os.path.abspath(__file__))
try:
    import course  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, _root)

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, Execute, GetGrades,
    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)

from course.instructor.plugins import HideHiddenTests, LimitOutputSize, RestoreCells

c = get_config()  # noqa: F821 (provided by traitlets)

# -- the course directory: sources with solutions and hidden tests, the committed release ----
c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "message-passing"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# submitted/, autograded/, feedback/ and gradebook.db keep nbgrader's default names (git-ignored).

# -- execution -------------------------------------------------------------------------------
# Seconds a single cell may run before it is interrupted (an infinite loop costs this much,
# then the cell counts as failed and grading goes on). Override: COURSE_CELL_TIMEOUT.
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "60"))
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.LimitOutputSize.max_chars = 20000

# -- hidden tests -----------------------------------------------------------------------------
# They draw random graphs at grading time from the grading seed: `python -m course autograde --seed S`
# or the environment variable COURSE_GRADING_SEED (default: course.checks.DEFAULT_SEED).

# -- autograding: deleted test cells come back, broken structure is repaired -----------------
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreCells,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    Execute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    LimitOutputSize,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# -- feedback: no hidden-test source, no markers, no tracebacks through hidden tests ---------
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# -- zip_collect: files downloaded from the LMS, named <student>_<anything>_<notebook>.ipynb ----
# e.g. downloaded/01_aggregators/archive/alice_late_2024-10-01_aggregators.ipynb (or inside a .zip).
# nbgrader matches the whole path, hence the leading ".*/". A student id is letters (accented
# ones too: zoë, jürgen), digits, dots and hyphens; the underscore separates the parts.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>(?:[^\W_]|[.\-])+)_(?:[^/]*_)?(?P<file_id>(?:[^\W_]|\-)+\.ipynb)$"
)
