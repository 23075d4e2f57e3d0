"""The numbers a book page computed, read from the executed page that the book build wrote.

A page glues every number its prose states (``glue("name", value, display=False)``), and
myst-nb stores those values next to the executed notebook, in
``_build/jupyter_execute/book/<part>/<page>.glue.json``. The book tests read them here
and check them against independent references (networkx, closed forms, exact enumeration,
a paper's number), so that a page and its test share one source: the page's own run.

>>> v = page_values("applications/01_physics")      # doctest: +SKIP
>>> v["tree_error"] < 1e-10                          # doctest: +SKIP
True

Values come back as Python objects: ints, floats, strings, and lists for glued
``array.tolist()``. Set ``BOOK_BUILD`` to read another build folder than ``_build`` (for
example the ``_build`` of ``scripts/build_page.py --keep DIR``).
"""

import ast
import json
import math
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def build_dir():
    """The build folder the values are read from: ``$BOOK_BUILD`` or ``_build``."""
    return Path(os.environ.get("BOOK_BUILD", ROOT / "_build"))


def glue_file(page):
    """Path of the glue store of ``page`` (``"principles/02_local_talk"``, no suffix)."""
    return build_dir() / "jupyter_execute" / "book" / f"{page}.glue.json"


def parse_value(text):
    """A glued value from its ``text/plain`` form (Python literals and numpy scalars/arrays)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if "..." in text:
        raise ValueError(f"a glued array was shortened by numpy's repr; glue `array.tolist()`: {text[:80]}")
    names = {"np": np, "array": np.array, "nan": math.nan, "inf": math.inf, "__builtins__": {}}
    names.update({t: getattr(np, t) for t in ("float64", "float32", "int64", "int32", "bool_", "str_")})
    try:
        value = eval(text, names)  # noqa: S307 - our own build output, no builtins
    except Exception as exc:  # noqa: BLE001 - report which value could not be read
        raise ValueError(f"cannot read glued value {text[:80]!r}: {exc}") from None
    return value.item() if isinstance(value, np.generic) else value


class PageValues(dict):
    """The glued values of one page; a missing name says which names the page does glue."""

    def __init__(self, page, values):
        super().__init__(values)
        self.page = page

    def __missing__(self, name):
        raise KeyError(f"book/{self.page}.md glues no value named {name!r}; it glues: {sorted(self)}")


@lru_cache(maxsize=None)
def page_values(page):
    """Every value ``book/<page>.md`` glued in the last book build, by name.

    Parameters
    ----------
    page : str
        The page's path under ``book/`` without ``.md``, e.g. ``"principles/02_local_talk"``.

    Raises
    ------
    FileNotFoundError
        If the page has not been built: run ``make book`` first.
    """
    source = ROOT / "book" / f"{page}.md"
    if not source.exists():
        raise FileNotFoundError(f"`page` {page!r} is not a page of the book (no {source})")
    path = glue_file(page)
    if not path.exists():
        raise FileNotFoundError(
            f"no executed copy of book/{page}.md at {path}: run `make book` first "
            f"(or `scripts/build_page.py --keep _build book/{page}.md`)")
    if path.stat().st_mtime < source.stat().st_mtime:
        raise RuntimeError(f"book/{page}.md changed after it was built ({path}): run `make book` again")
    store = json.loads(path.read_text(encoding="utf-8"))
    return PageValues(page, {name: parse_value(out["data"]["text/plain"]) for name, out in store.items()})


def glued_names(page_text):
    """Glue names a page's source writes literally: ``glue("name", ...)`` calls."""
    return re.findall(r"""\bglue\(\s*["']([^"']+)["']""", page_text)
