"""Synthetic submissions for the course tests and the autograde benchmark (not part of :mod:`course`).

:mod:`corpora.synthetic`: honest and faulty submissions; :mod:`corpora.tampering`: submissions
that try to fool the grader. ``tests/`` is on pytest's ``pythonpath``; the benchmark adds it.
"""
