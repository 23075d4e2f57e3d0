"""Hidden checks: what the student's code is graded against.

A hidden test cell of an exercise notebook is one line, ``course.checks.run("01.scatter_sum",
scatter_sum)``. This package re-exports the registry's API (:mod:`course.checks.registry`) and
imports the one module per assignment that registers its tasks, so importing it registers them all.

To add an assignment, write ``course/checks/<topic>.py`` calling :func:`register` for each task
(importing only :mod:`.registry`, :mod:`.graphs` and sibling task modules) and import it here.
"""

from .registry import (  # noqa: F401
    DEFAULT_SEED, SEED_ENV, Case, Check, CheckFailed, Outcome, __all__, array_result, compare,
    evaluate, exact_result, expected, get, grading_seed, make_cases, register, run, seed_scope,
    tasks, tuple_result, watch_mplib,
)

from . import aggregators  # noqa: F401,E402  01_aggregators
from . import message_passing  # noqa: F401,E402  02_message_passing
from . import attention  # noqa: F401,E402  03_attention
from . import wl_refinement  # noqa: F401,E402  04_wl
from . import diagnosis  # noqa: F401,E402  05_diagnostics
from . import beyond_one_hop  # noqa: F401,E402  06_beyond_one_hop
from . import backprop  # noqa: F401,E402  07_backprop
from . import expressivity  # noqa: F401,E402  08_expressivity
