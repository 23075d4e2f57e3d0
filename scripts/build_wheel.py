"""Build the student wheel of the course: ``dist/message_passing_mplib-<version>-py3-none-any.whl``.

Usage: python scripts/build_wheel.py [--out DIR] [--if-missing] [--name]

The wheel holds the two import packages ``mplib`` (the book's reference package)
and ``course`` (its hidden checks, the verification sandbox and
``python -m course check``, the learner's self-check). Its distribution name is
``message-passing-mplib``: ``pip install mplib`` installs an unrelated project
from the public index. Students install the file with
``python -m pip install message_passing_mplib-<version>-py3-none-any.whl``;
it needs neither npm nor the book's tooling, and works offline once its
dependencies (numpy, scipy, networkx, matplotlib, nbformat, IPython) are there.

The build copies only what the wheel needs into a temporary folder (no
``build/`` or ``*.egg-info`` appear in the checkout) and fixes the time stamps
(``SOURCE_DATE_EPOCH``), so two builds of the same sources give the same bytes
and the two book builds that ``make test`` compares link the same file.
Nothing of ``solutions/`` goes in. Any Python 3.11 with pip works: setuptools
comes from the running Python if it has it, else pip fetches it (build isolation).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["pyproject.toml", "README.md", "mplib", "course"]
EPOCH = "1767225600"  # 2026-01-01: fixed time stamps inside the wheel (reproducible bytes)


def wheel_name(root=ROOT):
    """File name of the wheel the sources at ``root`` give (distribution name and version of pyproject.toml)."""
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist = project["name"].replace("-", "_").replace(".", "_")
    return f"{dist}-{project['version']}-py3-none-any.whl"


def _can_build_wheels():
    """Whether the running Python's setuptools can build a wheel without fetching anything.

    setuptools >= 70.1 carries ``bdist_wheel``; older ones need the ``wheel`` package
    (a bare Python 3.11 has setuptools 65 and no ``wheel``: then pip's build isolation
    fetches a current setuptools).
    """
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None


def build(out, root=ROOT):
    """Build the wheel into the folder ``out``; return its path."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")
    with tempfile.TemporaryDirectory(prefix="mp-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for part in PARTS:
            path = Path(root) / part
            if path.is_dir():
                shutil.copytree(path, src / part, ignore=ignore)
            else:
                shutil.copy2(path, src / part)
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp + "/dist"]
        if _can_build_wheels():
            cmd.append("--no-build-isolation")
        env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, PIP_DISABLE_PIP_VERSION_CHECK="1")
        proc = subprocess.run(cmd + [str(src)], env=env, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}")
        built = Path(tmp) / "dist" / wheel_name(root)
        if not built.exists():
            raise RuntimeError(f"pip wheel did not produce {built.name}: {sorted(p.name for p in built.parent.iterdir())}")
        target = out / built.name
        shutil.copyfile(built, target)
    return target


def main(argv):
    if "--name" in argv:  # the file name only (for make)
        print(wheel_name())
        return 0
    out, if_missing = ROOT / "dist", "--if-missing" in argv
    if "--out" in argv:
        out = Path(argv[argv.index("--out") + 1])
    target = Path(out) / wheel_name()
    if if_missing and target.exists():
        return 0
    path = build(out)
    print(f"built {path} ({path.stat().st_size // 1024} KB); install it with\n"
          f"    python -m pip install {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
