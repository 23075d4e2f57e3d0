"""The hidden checks of every assignment; importing this package registers them all.

One module per assignment. To add an assignment, write ``course/tasks/<topic>.py``
calling :func:`course.checks.register` for each task and import it here.
"""

from . import aggregators  # noqa: F401  01_aggregators
from . import message_passing  # noqa: F401  02_message_passing
from . import attention  # noqa: F401  03_attention
from . import wl_refinement  # noqa: F401  04_wl
from . import diagnosis  # noqa: F401  05_diagnostics
from . import beyond_one_hop  # noqa: F401  06_beyond_one_hop
