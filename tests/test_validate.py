"""The shared argument checks: one wording for one mistake, whichever chapter makes it."""

import numpy as np
import pytest

from cnnbook.validate import as_pair, check_int, is_int, positive


def test_is_int_takes_numpy_integers_but_not_bools():
    assert is_int(3) and is_int(np.int64(3)) and is_int(np.uint8(0))
    assert not any(is_int(v) for v in (True, np.bool_(True), 3.0, "3", None))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_int(0, p=-1), "p must be an integer >= 0, got -1"),
        (lambda: check_int(1, s=True), "s must be an integer >= 1, got True"),
        (lambda: positive(k=2, c_in=0), "c_in must be a positive integer, got 0"),
        (lambda: positive(n=2.0), "n must be a positive integer, got 2.0"),
        (lambda: as_pair((1, 2, 3), "stride", 1), r"stride must be an integer >= 1 or a pair of them, got \(1, 2, 3\)"),
        (lambda: as_pair((2, 0), "size", 1), "size must be an integer >= 1"),
    ],
)
def test_bad_values_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_good_values_pass():
    check_int(0, p=0, q=np.int32(4))
    positive(k=1)
    assert as_pair(np.int64(3), "k", 1) == (3, 3) and as_pair([2, 5], "k", 1) == (2, 5)
    assert all(type(v) is int for v in as_pair(np.int64(3), "k", 1))
