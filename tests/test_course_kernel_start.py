"""A kernel that cannot start is the machine's fault, never the student's.

jupyter_client picks five free ports for each kernel and the kernel binds them a moment
later; on a busy machine (a class graded beside other work, or CI running tests in
parallel) another process can take one in between, and the kernel dies before it runs a
single cell. A CI run lost a submission that way: it was reported failed with "the kernel
died ... (e.g. exit() in a cell)". Here the first port handed to a kernel is one a socket
of the test already listens on, which is that collision made certain.
"""

import socket

import pytest
from course_small import ASSIGNMENT, TIMEOUT, new_course, write_batch

from course.checks import DEFAULT_SEED
from course.instructor import autograde
from course.instructor.status import Status

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = new_course(tmp_path_factory.mktemp("kernel-start") / "course")
    write_batch(root, {"ada": "solution", "ed": "kernel-exit"})
    return root


@pytest.fixture
def busy_port():
    """A port that a socket of this process listens on: a kernel told to bind it cannot."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def ports(monkeypatch, busy_port):
    """Make the first port of the next ``ports.collide`` kernel starts the busy one; count the starts."""
    from jupyter_client.provisioning.local_provisioner import LocalPortCache

    cache = LocalPortCache.instance()
    real = cache.find_available_port

    class Ports:
        collide = 0
        calls = 0

        def find(self, ip):
            self.calls += 1
            if self.calls % 5 == 1 and self.collide:  # five ports per kernel: the shell port comes first
                self.collide -= 1
                return busy_port
            return real(ip)

    state = Ports()
    monkeypatch.setattr(cache, "find_available_port", state.find)
    return state


def _grade(root, student):
    job, = autograde.ship(root, [(ASSIGNMENT, student)], seed=DEFAULT_SEED, timeout=TIMEOUT)
    return autograde.grade_job(job)


def test_a_kernel_that_cannot_start_is_started_again(course, ports):
    ports.collide = 1
    result = _grade(course, "ada")
    assert ports.collide == 0 and ports.calls == 10  # two kernels asked for ports: the lost one, the next
    assert (result["status"], result["reason"]) == ("graded", "")
    assert sum(result["scores"].values()) == 10 and not result.get("retry")
    assert sum(result["verified"]["scores"].values()) == 10


def test_a_kernel_that_never_starts_is_reported_as_the_machine_s_fault(course, ports):
    ports.collide = autograde.KERNEL_ATTEMPTS
    result = _grade(course, "ada")
    assert ports.calls == 5 * autograde.KERNEL_ATTEMPTS
    assert result["status"] == "failed"
    assert "could not start" in result["reason"] and "not a fault of the submission" in result["reason"]
    assert "exit()" not in result["reason"]
    # recorded to be graded again by the next `autograde`, even though nothing changed
    assert Status.from_result(result).retry is True


def test_a_kernel_the_notebook_kills_is_still_the_notebook_s_doing(course, ports):
    result = _grade(course, "ed")  # calls exit() in a cell: a kernel that started, then died
    assert ports.calls == 5  # not started again
    assert result["status"] == "failed" and "exit()" in result["reason"] and not result.get("retry")
