"""pytest configuration for the whole test folder."""

# The broken and hostile notebooks are graded by tests/test_grade.py; nbval must not run them.
collect_ignore_glob = ["submissions/*"]
