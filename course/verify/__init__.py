"""Out-of-kernel verification: each submission's graded functions scored again in a sandbox.

- :mod:`course.verify.submission`: what is verified and how the result is read
  (:func:`verify_submission`, :func:`review_reasons`);
- :mod:`course.verify.sandbox`: the grader's side of the sandboxed child process;
- :mod:`course.verify.runner`: the child's side (standard library and numpy only);
- :mod:`course.verify.wire`: the message format both sides share.
"""
