"""The instructor's pipeline (nbgrader), one module per step; ``python -m course`` runs them.

``release`` -> ``collect`` (or ``zip-collect``) -> ``autograde`` -> ``feedback`` -> ``export``.
Shared by the steps: :mod:`.tools` (nbgrader runs, :class:`~.tools.PipelineError`),
:mod:`.gradebook` (the one place that opens the gradebook), :mod:`.status` (the status record of
each submission), :mod:`.cells` (how test cells are keyed). :mod:`.plugins` holds the nbgrader
preprocessors configured in ``nbgrader_config.py``; :mod:`.kernels` the warm kernels of autograde.
"""
