"""``python -m course``: see :mod:`course.cli`."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:  # the learner's self-check needs neither nbgrader nor a course directory
        from .selfcheck import main
        sys.exit(main(sys.argv[2:]))
    from .cli import main
    sys.exit(main())
