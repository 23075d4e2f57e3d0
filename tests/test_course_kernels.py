"""Kernels forked from a warm zygote (course.instructor.kernels) behave like launched ones under nbclient."""

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from course.instructor import kernels

pytestmark = pytest.mark.slow


def _run(sources, timeout=20):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            kernel_manager_class=kernels.ZygoteKernelManager,
                            interrupt_on_timeout=True, resources={"metadata": {"path": "."}})
    client.execute()
    return nb, client


@pytest.fixture(scope="module", autouse=True)
def zygote():
    return kernels.start_zygote()


def test_forked_kernel_runs_cells_in_a_fresh_process(zygote):
    nb, _ = _run(["import os, numpy as np\nprint(os.getpid() != %d, os.getppid() == %d)" % (zygote.pid, zygote.pid),
                  "x = 41\nprint(x + 1)"])
    assert nb.cells[0].outputs[0].text.split() == ["True", "True"]
    assert nb.cells[1].outputs[0].text.strip() == "42"


def test_forked_kernels_do_not_share_state():
    first, _ = _run(["import numpy as np\nleak = 1\nprint(np.random.rand())"])
    second, _ = _run(["print('leak' in globals())\nimport numpy as np\nprint(np.random.rand())"])
    assert second.cells[0].outputs[0].text.split()[0] == "False"
    assert first.cells[0].outputs[0].text.strip() != second.cells[0].outputs[0].text.split()[1]


def test_forked_kernel_is_interrupted_at_the_timeout():
    nb, _ = _run(["while True:\n    pass", "print('after')"], timeout=2)
    assert any(o.output_type == "error" for o in nb.cells[0].outputs)
    assert nb.cells[1].outputs[0].text.strip() == "after"


def test_forked_kernel_that_exits_is_reported_dead():
    with pytest.raises(DeadKernelError):
        _run(["import os\nos._exit(1)", "print('never')"])
