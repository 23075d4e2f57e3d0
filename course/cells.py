"""Rules about the cells of an assignment's notebooks, written once.

- :func:`cell_key`: how a test cell is named in scores, the status record and the export:
  its ``grade_id`` alone when the assignment has one notebook, ``<notebook>/<grade_id>``
  when it has several (the notebook's name without ``.ipynb``).
- :func:`defined_functions`: the functions a code cell defines (``def name(``), by which a
  solution cell that lost its nbgrader metadata is recognised.

>>> cell_key("aggregators", "test_scatter_sum", 1)
'test_scatter_sum'
>>> cell_key("aggregators", "test_scatter_sum", 2)
'aggregators/test_scatter_sum'
>>> defined_functions("def f(x):\\n    def g():\\n        pass\\nh = 1")
['f', 'g']
"""

import re

__all__ = ["cell_key", "defined_functions"]

_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


def cell_key(notebook, cell, notebooks):
    """The key of ``cell`` of ``notebook`` in an assignment of ``notebooks`` notebooks.

    Parameters
    ----------
    notebook : str
        The notebook's name without ``.ipynb``.
    cell : str
        The cell's ``grade_id`` (or any text to be attributed to that notebook).
    notebooks : int
        How many notebooks the assignment has.
    """
    return cell if notebooks == 1 else f"{notebook}/{cell}"


def defined_functions(source):
    """Names of the functions defined in ``source``, in order (nested ones included)."""
    return _DEF.findall(source)
