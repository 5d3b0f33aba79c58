"""Padding modes, output sizes, transposed sizes, unused rows and the arithmetic picture (chapter 3)."""

import itertools
import math

import numpy as np
import pytest

from cnnbook.conv import conv2d, output_size
from cnnbook.padding import (
    analyse,
    conv2d_mode,
    conv_input_lengths,
    conv_output_length,
    coverage,
    draw_arithmetic,
    formula_agrees,
    kernel_span,
    mode_output_length,
    pad_amounts,
    skips_between_taps,
    surely_read,
    transposed_output_size,
    unused_inputs,
)


@pytest.mark.parametrize(
    "mode, n, k, s, d, pads, out",
    [
        ("valid", 5, 3, 1, 1, (0, 0), 3),  # 000: the 5x5 grid and the 3x3 filter
        ("same", 5, 3, 1, 1, (1, 1), 5),  # 000: the zero border keeps 5x5
        ("full", 5, 3, 1, 1, (2, 2), 7),
        ("full", 2, 3, 1, 1, (2, 2), 4),  # 003 5.20: 2x2 image, 3x3 kernel -> 4x4
        ("same", 5, 4, 1, 1, (1, 2), 5),  # even kernel: the odd zero goes after
        ("same", 6, 2, 1, 1, (0, 1), 6),
        ("same", 7, 3, 2, 1, (1, 1), 4),  # stride 2: ceil(7/2) = 4
        ("same", 6, 3, 2, 1, (0, 1), 3),  # ceil(6/2) = 3 needs only one zero, after
        ("same", 7, 3, 1, 2, (2, 2), 7),  # dilation 2: span 5
        ("valid", 8, 3, 2, 1, (0, 0), 3),  # floor((8-3)/2) + 1
        ("full", 5, 3, 2, 1, (2, 2), 4),
    ],
)
def test_modes_by_hand(mode, n, k, s, d, pads, out):
    assert pad_amounts(mode, n, k, s, d) == pads
    assert mode_output_length(n, k, mode, s, d) == out


def test_span_and_symmetric_padding_agree_with_conv_output_size():
    assert kernel_span(3, 2) == 5 and kernel_span(1, 7) == 1 and kernel_span(4) == 4
    for n, k, s, p, d in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3), range(1, 3)):
        if kernel_span(k, d) <= n + 2 * p:
            assert conv_output_length(n, k, s, p, d) == output_size(n, k, s, p, d)
            assert conv_output_length(n, k, s, (p, p), d) == output_size(n, k, s, p, d)


def test_conv2d_mode_by_hand():
    x, w = np.ones((3, 3)), np.ones((2, 2))
    # "same" with an even kernel pads one zero after (bottom, right): the last row and column see fewer ones
    np.testing.assert_array_equal(conv2d_mode(x, w, "same"), [[4, 4, 2], [4, 4, 2], [2, 2, 1]])
    np.testing.assert_array_equal(conv2d_mode(x, w, "full"), [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(conv2d_mode(x, w, "valid"), np.full((2, 2), 4.0))
    assert conv2d_mode(np.ones((2, 7, 7)), np.ones((4, 2, 3, 3)), "same", stride=2).shape == (4, 4, 4)


def test_same_and_full_in_general():
    for n, k, s in itertools.product(range(1, 12), range(1, 6), range(1, 4)):
        assert mode_output_length(n, k, "same", s) == math.ceil(n / s)
        if s == 1:
            assert mode_output_length(n, k, "full") == n + k - 1
            before, after = pad_amounts("same", n, k)
            assert after - before == (0 if k % 2 else 1)


@pytest.mark.parametrize(
    "n, k, s, p, op, d, expected",
    [
        (2, 4, 3, 0, 0, 1, 7),  # 003 5.19: 2x2 input, 4x4 kernel, stride 3 -> 7x7: (2-1)*3 + 4
        (2, 3, 2, 0, 0, 1, 5),  # undoes 5x5 -> 2x2 with a 3x3 kernel, stride 2
        (2, 3, 2, 0, 1, 1, 6),  # output padding picks 6, which also gives 2x2
        (4, 3, 2, 1, 1, 1, 8),
        (3, 3, 1, 0, 0, 2, 7),  # dilation 2: (3-1) + 2*2 + 1
        (1, 1, 1, 0, 0, 1, 1),
    ],
)
def test_transposed_by_hand(n, k, s, p, op, d, expected):
    assert transposed_output_size(n, k, s, p, op, d) == expected


def test_transposed_inverts_the_size_of_a_convolution():
    for n, k, s, p in itertools.product(range(1, 12), range(1, 5), range(1, 4), range(0, 2)):
        if k > n + 2 * p:
            continue
        out = conv_output_length(n, k, s, p)
        sizes = conv_input_lengths(out, k, s, p)
        assert n in sizes and all(conv_output_length(m, k, s, p) == out for m in sizes)
        smallest = (out - 1) * s + k - 2 * p  # what the transposed convolution gives without output padding
        if smallest >= 1:
            assert transposed_output_size(out, k, s, p, output_padding=n - smallest) == n


def test_conv_input_lengths_by_hand():
    assert conv_input_lengths(2, 4, 3) == [7, 8, 9]
    assert conv_input_lengths(2, 3, 2) == [5, 6]
    assert conv_input_lengths(3, 3, 1, 1) == [3]


@pytest.mark.parametrize(
    "n, k, s, p, d, counts",
    [
        (5, 3, 1, 0, 1, [1, 2, 3, 2, 1]),  # narrow: the edges are read less often (003 5.14)
        (5, 3, 1, 1, 1, [2, 3, 3, 3, 2]),  # same padding: the corners are read more often, not always
        (6, 3, 2, 0, 1, [1, 1, 2, 1, 1, 0]),  # the last row lies past the last window
        (7, 2, 3, 0, 3, [1, 0, 0, 2, 0, 0, 1]),  # dilation 3 steps over rows
        (4, 1, 2, 0, 1, [1, 0, 1, 0]),
    ],
)
def test_coverage_by_hand(n, k, s, p, d, counts):
    assert coverage(n, k, s, p, d).tolist() == counts
    assert unused_inputs(n, k, s, p, d) == [i for i, c in enumerate(counts) if c == 0]


def test_unused_rows_really_do_not_matter():
    rng = np.random.default_rng(0)
    for n, k, s, p, d in [(6, 3, 2, 0, 1), (8, 2, 3, 0, 2), (9, 3, 3, 1, 2), (7, 3, 2, 1, 1)]:
        x, w = rng.normal(size=(n, n)), rng.normal(size=(k, k))
        base = conv2d(x, w, stride=s, padding=p, dilation=d)
        for row in range(n):
            changed = x.copy()
            changed[row] += 1.0
            moved = not np.allclose(conv2d(changed, w, stride=s, padding=p, dilation=d), base)
            assert moved == (row not in unused_inputs(n, k, s, p, d)), (n, k, s, p, d, row)


def test_analyse_says_what_is_wrong():
    assert analyse(5, 3, 1, 1).ok and analyse(5, 3, 1, 1).message() == "output 5x5: every input row is used"
    bad = analyse(3, 5)
    assert not bad.valid and bad.output is None and bad.message().startswith("INVALID: the kernel spans 5")
    trailing = analyse(6, 3, 2)
    assert trailing.valid and not trailing.ok and "5 lie past the last window" in trailing.message()
    skipped = analyse(7, 2, 3, 0, 3)
    assert skipped.unused == [1, 2, 4, 5] and "share the factor 3" in skipped.message()
    only_zeros = analyse(3, 2, 1, 3)
    assert only_zeros.padding_only == 4 and "see only padding" in only_zeros.message()
    with pytest.raises(ValueError, match="s must be an integer >= 1"):
        analyse(5, 3, 0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pad_amounts("half", 5, 3), "mode must be one of"),
        (lambda: conv_output_length(3, 2, p=(1,)), r"pair \(before, after\)"),
        (lambda: conv_output_length(3, 3, d=2), "spans 5 inputs"),
        (lambda: transposed_output_size(3, 3, 2, output_padding=2), "smaller than the stride"),
        (lambda: transposed_output_size(1, 1, 1, p=1), "crops away the whole output"),
        (lambda: kernel_span(0), "k must be an integer >= 1"),
        (lambda: conv2d_mode(np.ones(4), np.ones(2)), "at least 2 axes"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_formula_agrees():
    assert formula_agrees(lambda n, k, s, p: (n - k + 2 * p) / s + 1)
    assert not formula_agrees(lambda n, k, s, p: (n - k + 2 * p / s) + 1)  # 001's parentheses


def test_draw_arithmetic_valid_and_invalid():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw_arithmetic(5, 3, 2, 1, 1, position=4)
    assert "output 3x3" in fig.axes[0].get_title()
    plt.close(fig)
    fig = draw_arithmetic(3, 3, 1, 0, 2)
    assert "INVALID" in fig.axes[0].get_title()
    plt.close(fig)


# --- against PyTorch ----------------------------------------------------------------------------


def test_output_sizes_match_torch_conv2d():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for n, k, s, p, d in itertools.product([5, 6, 9], [1, 2, 3, 4], [1, 2, 3], [0, 1, 2], [1, 2]):
        if kernel_span(k, d) > n + 2 * p:
            continue
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert out.shape[-1] == conv_output_length(n, k, s, p, d), (n, k, s, p, d)
        # asymmetric padding: F.pad takes (left, right, top, bottom)
        padded = F.pad(torch.zeros(1, 1, n, n), (p, p + 1, p, p + 1))
        out = F.conv2d(padded, torch.zeros(1, 1, k, k), stride=s, dilation=d)
        assert out.shape[-1] == conv_output_length(n, k, s, (p, p + 1), d)


def test_values_match_torch_conv2d_with_stride_padding_dilation():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3, 10, 9)), rng.normal(size=(4, 3, 3, 2))
    for s, p, d in [(1, 0, 1), (2, 1, 1), (3, 2, 2), ((2, 1), (1, 0), (1, 3))]:
        expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=s, padding=p, dilation=d)
        np.testing.assert_allclose(conv2d(x, w, stride=s, padding=p, dilation=d), expected.numpy(), atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_mode_matches_torch_padding_same():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for n, k, d in [(7, 3, 1), (7, 4, 1), (6, 2, 1), (8, 3, 2), (5, 5, 1), (9, 4, 2)]:
        x, w = rng.normal(size=(1, 2, n, n)), rng.normal(size=(3, 2, k, k))
        expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding="same", dilation=d)
        np.testing.assert_allclose(conv2d_mode(x, w, "same", dilation=d), expected.numpy(), atol=1e-10)


def test_transposed_sizes_match_torch_conv_transpose2d():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for n, k, s, p, op, d in itertools.product([1, 2, 5], [1, 2, 3, 4], [1, 2, 3], [0, 1], [0, 1, 2], [1, 2]):
        if op >= max(s, d):
            continue
        try:
            ours = transposed_output_size(n, k, s, p, op, d)
        except ValueError:
            with pytest.raises(RuntimeError):
                F.conv_transpose2d(
                    torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=op, dilation=d
                )
            continue
        out = F.conv_transpose2d(
            torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=op, dilation=d
        )
        assert out.shape[-1] == ours, (n, k, s, p, op, d)


def _padded_reads(n, k, s, p, d):
    out = conv_output_length(n, k, s, p, d)
    return out, {i * s + j * d for i in range(out) for j in range(k)}


@pytest.mark.parametrize("k", range(1, 6))
def test_which_rows_fall_between_the_taps(k):
    # the rule the chapter states, over a grid: rows are skipped for good (one in every s) exactly when
    # gcd(s, d) > 1 or k < s; otherwise every row away from the ends is read. "d > s skips rows" is not it.
    for n, s, p, d in itertools.product(range(1, 16), range(1, 6), range(3), range(1, 6)):
        if kernel_span(k, d) > n + 2 * p:
            continue
        out, reads = _padded_reads(n, k, s, p, d)
        last = (out - 1) * s + (k - 1) * d
        if skips_between_taps(k, s, d):
            assert all(not set(range(a, a + s)) <= reads for a in range(last - s + 2)), (n, k, s, p, d)
        else:
            assert surely_read(out, k, s, d) <= reads, (n, k, s, p, d)
        between = [r for r in analyse(n, k, s, p, d).unused if r + p <= last]
        if between:
            assert ("share the factor" in analyse(n, k, s, p, d).message()) == (math.gcd(s, d) > 1)
    assert not skips_between_taps(3, 1, 4) and analyse(12, 3, 1, 0, 4).unused == []  # d > s, nothing skipped
