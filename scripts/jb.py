"""Run the ``jupyter-book`` command line, without a slow optional import.

Usage: python scripts/jb.py build . -W --keep-going -n   (same arguments as ``jupyter-book``)

jupyter-book validates ``_config.yml`` with jsonschema, and importing jsonschema imports
``rfc3987_syntax`` when it is installed (jupyter-events pulls it in), which compiles 38 lark grammars
at import: about 1.5 s of CPU, half of a no-op rebuild. It only adds the "iri" string format,
which no schema here uses, so we hide it from this process (jsonschema skips what it cannot import).
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # `import rfc3987_syntax` now raises ImportError

from jupyter_book.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "jupyter-book"
    sys.exit(main())
