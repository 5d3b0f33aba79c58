"""Exercises and their tests: the format of ``solutions/``, ``check`` for students, the generator.

In a notebook: ``from cnnbook.homework import test, check, assert_close``.
"""

from cnnbook.homework.checks import REGISTRY, CheckResult, assert_close, check, test
from cnnbook.homework.student import LocalTransport, Student, StudentError

__all__ = ["REGISTRY", "CheckResult", "LocalTransport", "Student", "StudentError", "assert_close", "check", "test"]
