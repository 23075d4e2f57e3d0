"""What every instructor step shares: nbgrader run in the course directory, and its errors.

- :class:`PipelineError`: a step could not be completed;
- :func:`nbgrader`: run an ``nbgrader`` command in a subprocess (collect, zip_collect);
- :func:`convert`: run nbgrader's ``generate_assignment`` / ``generate_feedback`` converter in
  this process (release, feedback);
- :func:`tool_env`: the environment nbgrader and its kernels need (seed, timeout, the course
  importable, the venv on ``PATH``).
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

from nbgrader.converters import GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from traitlets.config.loader import PyFileConfigLoader

from ..checks import DEFAULT_SEED, SEED_ENV

__all__ = ["PipelineError", "nbgrader", "convert", "tool_env", "PACKAGE_ROOT"]

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding course/ and mplib/


class PipelineError(RuntimeError):
    """A step could not be completed; the message says why and what to do."""


def tool_env(seed=None, timeout=None):
    """Environment for nbgrader and its kernels: seed, timeout, course importable, venv on PATH."""
    env = {SEED_ENV: str(DEFAULT_SEED if seed is None else int(seed))}
    if timeout is not None:
        env["COURSE_CELL_TIMEOUT"] = str(int(timeout))
    paths = [PACKAGE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    return env


def nbgrader(root, *args, seed=None, timeout=None, check=True):
    """Run ``nbgrader <args>`` in ``root``; return the completed process."""
    env = dict(os.environ, **tool_env(seed, timeout))
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise PipelineError(f"`nbgrader {' '.join(args)}` failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc


def convert(root, kind, assignment, student="*"):
    """Run nbgrader's ``generate_assignment`` or ``generate_feedback`` converter in this process."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):  # nbgrader runs `alembic` from PATH
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config, root=str(root))
    coursedir.assignment_id, coursedir.student_id = assignment, student
    log = logging.getLogger(f"course.{kind}")
    log.propagate = False
    cls = {"generate_assignment": GenerateAssignment, "generate_feedback": GenerateFeedback}[kind]
    app = cls(coursedir=coursedir, config=config, log=log)
    app.force = True
    result = capture_log(app)
    if not result["success"]:
        raise PipelineError(f"nbgrader {kind} {assignment} failed:\n{result.get('log', '')[-3000:]}"
                            f"{result.get('error', '')[-3000:]}")
