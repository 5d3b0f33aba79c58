"""Exercises and their tests: the format of ``solutions/``, ``check`` for students, the generator, the grader.

In a notebook: ``from cnnbook.homework import test, check, assert_close``.

The modules, by side of the trust boundary between the grader and the student's kernel:

* runs in the student's kernel (untrusted; imports only the standard library and NumPy):
  :mod:`~cnnbook.homework.in_kernel`;
* runs wherever the tests run (the grader's process, and the notebook for ``check``):
  :mod:`~cnnbook.homework.checks` and :mod:`~cnnbook.homework.student`;
* grader side: :mod:`~cnnbook.homework.cli` (the ``cnnbook`` command), :mod:`~cnnbook.homework.grade`,
  :mod:`~cnnbook.homework.kernel`, :mod:`~cnnbook.homework.wire`, :mod:`~cnnbook.homework.sandbox`,
  :mod:`~cnnbook.homework.report`, :mod:`~cnnbook.homework.classroom`, :mod:`~cnnbook.homework.gradescope`,
  and the exercise format's :mod:`~cnnbook.homework.notebook` and :mod:`~cnnbook.homework.generate`.
"""

from cnnbook.homework.checks import REGISTRY, CheckResult, assert_close, check, test
from cnnbook.homework.in_kernel import LocalTransport
from cnnbook.homework.student import Student, StudentError

__all__ = ["REGISTRY", "CheckResult", "LocalTransport", "Student", "StudentError", "assert_close", "check", "test"]
