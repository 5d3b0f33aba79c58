"""Chapter 3: padding, stride, dilation and the size of a convolution's output.

Everything here works along one axis (a square input and kernel use it twice):

* :func:`pad_amounts` turns a padding *mode* ("valid", "same", "full") into zeros before and after;
* :func:`conv_output_length` is the output length for any padding, stride and dilation, and
  :func:`mode_output_length` the same for a mode;
* :func:`transposed_output_size` is ``(n - 1) s - 2p + d (k - 1) + output_padding + 1``;
* :func:`coverage` counts how often a convolution reads each input position, so
  :func:`unused_inputs` can say which rows it never reads;
* :func:`analyse` checks a whole combination ``(n, k, s, p, d)`` and explains what is wrong with it,
  and :func:`draw_arithmetic` draws it like the convolution-arithmetic animations of Dumoulin and Visin.

:func:`conv_output_length` is :func:`cnnbook.conv.output_size`, the formula every chapter uses
(symmetric or asymmetric padding); this module adds the padding modes and the diagnostics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cnnbook.conv import conv2d, kernel_span, output_size, padding_pair
from cnnbook.conv import transposed_output_size as transposed_output_size  # chapter 3 teaches it too
from cnnbook.validate import check_int

MODES = ("valid", "same", "full")


def pad_amounts(mode: str, n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """Zeros before and after an input of length ``n`` for a padding mode.

    * ``"valid"``: none; the kernel stays inside the input ("narrow" convolution).
    * ``"full"``: ``span - 1`` on each side, so every output that touches the input at all is
      computed ("wide" convolution): the output has ``n + span - 1`` values at stride 1.
    * ``"same"``: the output has ``ceil(n / s)`` values (``n`` at stride 1). The total padding
      ``(ceil(n/s) - 1) s + span - n`` is split with the odd zero *after*, as PyTorch and
      TensorFlow do; so an even kernel gets one more zero at the end than at the start.

    >>> pad_amounts("same", 5, 3), pad_amounts("same", 5, 4), pad_amounts("full", 5, 3)
    ((1, 1), (1, 2), (2, 2))
    """
    check_int(1, n=n, k=k, s=s, d=d)
    span = kernel_span(k, d)
    if mode == "valid":
        return 0, 0
    if mode == "full":
        return span - 1, span - 1
    if mode == "same":
        total = max((math.ceil(n / s) - 1) * s + span - n, 0)
        return total // 2, total - total // 2
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


#: The output length for any padding, stride and dilation: the book's one formula, under the chapter's name.
conv_output_length = output_size


def mode_output_length(n: int, k: int, mode: str = "valid", s: int = 1, d: int = 1) -> int:
    """Output length for a padding mode: valid ``floor((n - span)/s) + 1``, same ``ceil(n/s)``,
    full ``floor((n + span - 2)/s) + 1`` (``n + span - 1`` at stride 1)."""
    return conv_output_length(n, k, s, pad_amounts(mode, n, k, s, d), d)


def conv_input_lengths(out: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> list[int]:
    """Every input length that a convolution ``(k, s, p, d)`` maps to an output of length ``out``.

    There are ``s`` of them (the stride drops up to ``s - 1`` trailing rows), fewer when the smallest
    would be below 1.
    """
    check_int(1, out=out, k=k, s=s, d=d)
    check_int(0, p=p)
    smallest = (out - 1) * s + kernel_span(k, d) - 2 * p
    return [n for n in range(max(smallest, 1), smallest + s) if conv_output_length(n, k, s, p, d) == out]


def coverage(n: int, k: int, s: int = 1, p: int | tuple[int, int] = 0, d: int = 1) -> np.ndarray:
    """How many times the convolution reads each of the ``n`` input positions (padding excluded).

    Zero marks a row the output never depends on. In 2-D the count of cell ``(i, j)`` is
    ``coverage(rows)[i] * coverage(cols)[j]``.
    """
    before, _ = padding_pair(p)
    out = conv_output_length(n, k, s, p, d)
    taps = (np.arange(out)[:, None] * s + np.arange(k)[None, :] * d).ravel() - before  # input index of each read
    taps = taps[(taps >= 0) & (taps < n)]
    return np.bincount(taps, minlength=n)


def unused_inputs(n: int, k: int, s: int = 1, p: int | tuple[int, int] = 0, d: int = 1) -> list[int]:
    """The input positions (0-based) that no output depends on; empty when every row is read."""
    return [int(i) for i in np.flatnonzero(coverage(n, k, s, p, d) == 0)]


@dataclass(frozen=True)
class Analysis:
    """What a combination ``(n, k, s, p, d)`` does along one axis, and what is wrong with it."""

    n: int
    k: int
    s: int
    p: int
    d: int
    span: int
    padded: int
    valid: bool
    output: int | None  # None when invalid
    unused: list[int] = field(default_factory=list)
    padding_only: int = 0  # outputs at each border that see nothing but zeros
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Valid, every input row used, and no output made only of padding."""
        return self.valid and not self.problems

    def message(self) -> str:
        """One line that says what happens (invalid, wasteful or fine)."""
        if not self.valid:
            return "INVALID: " + "; ".join(self.problems)
        head = f"output {self.output}x{self.output}"
        return head + (": " + "; ".join(self.problems) if self.problems else ": every input row is used")


def skips_between_taps(k: int, s: int, d: int = 1) -> bool:
    """Whether rows fall between the kernel's taps however long the input is (one in every ``s`` or fewer).

    Window ``i`` reads rows ``i*s + j*d`` for ``j < k``. The reads cover every residue modulo ``s`` (and so,
    away from the ends, every row) exactly when the taps reach all of them: ``gcd(s, d) == 1`` and ``k >= s``.
    Otherwise a whole residue class is never read. Whether ``d`` is larger than ``s`` does not decide it:
    ``(k, s, d) = (3, 1, 4)`` reads every row, ``(2, 3, 3)`` skips two in three.

    >>> skips_between_taps(2, 3, 3), skips_between_taps(3, 1, 4), skips_between_taps(2, 3, 1)
    (True, False, True)
    """
    check_int(1, k=k, s=s, d=d)
    return math.gcd(s, d) > 1 or k < s


def surely_read(out: int, k: int, s: int, d: int = 1) -> set[int]:
    """Rows (counted from the first padded row) that are read whatever happens at the ends, when
    :func:`skips_between_taps` is False: those at least ``(s-1)*d`` rows in from the first read row and at
    most ``(out-1)*s`` from it, and their mirror images from the last read row."""
    check_int(1, out=out, k=k, s=s, d=d)
    if skips_between_taps(k, s, d):
        return set()
    first, last = (s - 1) * d, (out - 1) * s
    end = (out - 1) * s + (k - 1) * d
    return set(range(first, last + 1)) | set(range(end - last, end - first + 1))


def gap_reason(k: int, s: int, d: int = 1) -> str:
    """Why rows fall between the taps, in words (see :func:`skips_between_taps`)."""
    if math.gcd(s, d) > 1:
        return (
            f"the stride {s} and the dilation {d} share the factor {math.gcd(s, d)}, so the taps never land on the rest"
        )
    if k < s:
        return f"the {k} tap(s) {d} apart reach only {k} of every {s} rows the stride steps over"
    return f"near the ends, where too few windows overlap: only rows within (s-1)*d = {(s - 1) * d} of an end miss out"


def analyse(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> Analysis:
    """Check a square convolution ``(n, k, s, p, d)``: its output size, or why it has none, and
    which input rows it never reads (the stride leaves trailing rows over, or the dilation steps
    over rows the stride never revisits).

    Arguments that are not integers of the right range still raise ``ValueError``; a kernel that
    does not fit is reported, not raised, so a slider can show it.
    """
    check_int(1, n=n, k=k, s=s, d=d)
    check_int(0, p=p)
    span, padded = kernel_span(k, d), n + 2 * p
    if span > padded:
        problem = f"the kernel spans {span} rows (k={k}, d={d}) but the padded input has only {padded} (n={n}, p={p})"
        return Analysis(n, k, s, p, d, span, padded, False, None, problems=[problem])
    out = conv_output_length(n, k, s, p, d)
    unused = unused_inputs(n, k, s, p, d)
    problems = []
    last_read = (out - 1) * s + span - 1 - p  # the last input row the last window reaches
    trailing = [r for r in unused if r > last_read]
    between = [r for r in unused if r <= last_read]
    if trailing:
        problems.append(
            f"input rows/columns {_rows(trailing)} lie past the last window (the stride {s} does not "
            f"fit: {(padded - span) % s} padded row(s) left over)"
        )
    if between:
        problems.append(f"input rows/columns {_rows(between)} fall between the kernel's taps ({gap_reason(k, s, d)})")
    # windows lying wholly in the zero border see only padding
    padding_only = sum(1 for i in range(out) if i * s + span - 1 < p or i * s >= p + n)
    if padding_only:
        problems.append(f"{padding_only} output row(s)/column(s) see only padding (p={p} is at least the span {span})")
    return Analysis(n, k, s, p, d, span, padded, True, out, unused, padding_only, problems)


def _rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows))


def conv2d_mode(x: np.ndarray, w: np.ndarray, mode: str = "valid", stride: int = 1, dilation: int = 1) -> np.ndarray:
    """:func:`cnnbook.conv.conv2d` with a padding mode, padding asymmetrically where the mode needs it.

    ``x`` and ``w`` have the shapes :func:`cnnbook.conv.conv2d` accepts; the last two axes are padded.
    """
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim < 2 or w.ndim < 2:
        raise ValueError(f"x and w need at least 2 axes (height, width), got shapes {x.shape} and {w.shape}")
    pads = [pad_amounts(mode, x.shape[axis], w.shape[axis], stride, dilation) for axis in (-2, -1)]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 2) + pads)
    return conv2d(padded, w, stride=stride, dilation=dilation)


def draw_arithmetic(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, position: int = 0, ax=None):
    """Draw a square convolution ``(n, k, s, p, d)``: the padded input, the kernel's taps at one output
    ``position`` (row-major, wrapping around), and the output grid; unused input cells are marked
    with a red cross, and the title says when the combination is invalid or wasteful.

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    info = analyse(n, k, s, p, d)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.8))
    else:
        fig = ax.figure
    ax.set_aspect("equal")
    ax.axis("off")
    size = info.padded
    unused = set(info.unused)
    if info.valid:
        i, j = divmod(position % (info.output * info.output), info.output)
        taps = {(i * s + u * d, j * s + v * d) for u in range(k) for v in range(k)}
    else:
        i = j = None
        taps = set()
    # the padded input: padding white and dashed, input blue, unused input red
    for r in range(size):
        for c in range(size):
            inside = p <= r < p + n and p <= c < p + n
            y = size - 1 - r
            if inside:
                never = (r - p) in unused or (c - p) in unused
                ax.add_patch(
                    Rectangle(
                        (c, y), 1, 1, facecolor="#f4b6b6" if never else "#bcd7f0", edgecolor="#4a6f8f", linewidth=0.8
                    )
                )
                if never:
                    ax.plot([c + 0.2, c + 0.8], [y + 0.2, y + 0.8], color="#b22222", linewidth=1)
                    ax.plot([c + 0.2, c + 0.8], [y + 0.8, y + 0.2], color="#b22222", linewidth=1)
            else:
                ax.add_patch(
                    Rectangle((c, y), 1, 1, facecolor="white", edgecolor="#999999", linewidth=0.8, linestyle="--")
                )
            if (r, c) in taps:
                ax.add_patch(Rectangle((c + 0.12, y + 0.12), 0.76, 0.76, facecolor="#1f3b73", alpha=0.85))
    if info.valid:
        top, left = i * s, j * s  # the receptive field's outline
        ax.add_patch(
            Rectangle(
                (left, size - top - info.span), info.span, info.span, fill=False, edgecolor="#1f3b73", linewidth=2.2
            )
        )
        gap = 2.0
        x0 = size + gap
        offset = (size - info.output) / 2
        for r in range(info.output):
            for c in range(info.output):
                here = (r, c) == (i, j)
                ax.add_patch(
                    Rectangle(
                        (x0 + c, offset + info.output - 1 - r),
                        1,
                        1,
                        facecolor="#2e8b57" if here else "#cdeccd",
                        edgecolor="#2f6f4f",
                    )
                )
        ax.annotate(
            "",
            xy=(x0 - 0.2, size / 2),
            xytext=(size + 0.2, size / 2),
            arrowprops=dict(arrowstyle="->", color="#555555"),
        )
        ax.set_xlim(-0.5, x0 + info.output + 0.5)
        ax.text(size / 2, -0.8, f"input {n}x{n}, padding {p}", ha="center", va="top", fontsize=10)
        ax.text(
            x0 + info.output / 2,
            offset - 0.8,
            f"output {info.output}x{info.output}",
            ha="center",
            va="top",
            fontsize=10,
        )
    else:
        ax.set_xlim(-0.5, size + 0.5)
        ax.text(size / 2, -0.8, f"input {n}x{n}, padding {p}", ha="center", va="top", fontsize=10)
    ax.set_ylim(-2.0, size + 0.5)
    colour = "#b22222" if not info.valid else ("#b8860b" if info.problems else "#2f6f4f")
    title = f"n={n}, k={k}, s={s}, p={p}, d={d} (kernel spans {info.span})\n{info.message()}"
    ax.set_title(title, color=colour, fontsize=10, wrap=True)
    return fig


# --- formulas stated by the sources, checked against conv_output_length ---------------------------


def formula_agrees(formula, cases=None) -> bool:
    """Whether ``formula(n, k, s, p)`` gives :func:`conv_output_length` on every case where the
    stride fits exactly (``s`` divides ``n + 2p - k``), the cases the sources' formulas are meant for."""
    cases = cases or [
        (n, k, s, p)
        for n in range(1, 16)
        for k in range(1, 8)
        for s in range(1, 5)
        for p in range(0, 4)
        if k <= n + 2 * p and (n + 2 * p - k) % s == 0
    ]
    return all(math.isclose(formula(n, k, s, p), conv_output_length(n, k, s, p)) for n, k, s, p in cases)


def _claims():
    from cnnbook.book.errata import Claim

    alexnet_as_printed = (227 - 11 + (2 * 0) / 4) + 1  # the printed formula on AlexNet's conv1
    even_same = pad_amounts("same", 5, 4)
    literal_valid = (8 - 3) / 2 + 1
    return [
        # seeds/000: padding and dimensionality
        Claim(
            "000",
            "padding",
            "a 3x3 filter, stride 1, on a 5x5 grid fits 3 positions each way: output size",
            3,
            lambda: conv_output_length(5, 3),
        ),
        Claim(
            "000",
            "padding",
            "a border of zeros expands the 5x5 input to",
            7,
            lambda: 5 + sum(pad_amounts("same", 5, 3)),
        ),
        Claim("000", "padding", "and the next layer is again 5x5", 5, lambda: conv_output_length(5, 3, p=1)),
        Claim(
            "000",
            "dimensionality",
            "W_out = (W - F + 2P)/S + 1 gives the output width",
            True,
            lambda: formula_agrees(lambda n, k, s, p: (n - k + 2 * p) / s + 1),
            "holds when S divides W - F + 2P; otherwise libraries take the floor (chapter 3)",
        ),
        # seeds/001: the formula of step 1, as printed
        Claim(
            "001",
            "AlexNet",
            "output width = (input width - filter size + (2 * padding)/stride) + 1",
            True,
            lambda: formula_agrees(lambda n, k, s, p: (n - k + (2 * p) / s) + 1),
            "misplaced parentheses: as printed it divides only the padding by the stride, and gives "
            f"{alexnet_as_printed:g} for AlexNet's conv1 instead of {conv_output_length(227, 11, 4)}; it is "
            "(W - F + 2P)/S + 1, which the article's own worked numbers use",
        ),
        # seeds/003 5.3: basic definitions
        Claim(
            "003",
            "5.3.3",
            "a (half) padded convolution keeps the output size equal to the input's (odd kernels 1 to 7, "
            "inputs 7 to 40)",
            True,
            lambda: all(conv_output_length(n, k, p=(k - 1) // 2) == n for k in range(1, 8, 2) for n in range(7, 41)),
            "half padding is p = (k-1)/2 for odd k; an even kernel needs one more zero on one side",
        ),
        Claim(
            "003",
            "5.3.3",
            "without padding, a kernel larger than 1 loses border rows: the largest kernel that keeps the size",
            1,
            lambda: max(k for k in range(1, 8) if all(conv_output_length(n, k) == n for n in range(7, 41))),
        ),
        Claim(
            "003",
            "5.3.2",
            "a stride of 2 downsamples like (2x2) max pooling: the factor a 3x3, padding-1 convolution shrinks "
            "every even size by",
            2,
            lambda: max({n // conv_output_length(n, 3, s=2, p=1) for n in range(4, 41, 2)}),
            "on an odd size the two differ by one: the convolution keeps ceil(n/2) rows, 2x2 pooling floor(n/2)",
        ),
        # seeds/003 5.14: narrow and wide convolution
        Claim(
            "003",
            "5.14.1",
            "full ('wide') padding: npadding = filter - 1 zeros on each side (filters 1 to 7, inputs 7 to 20)",
            True,
            lambda: all(pad_amounts("full", n, k) == (k - 1, k - 1) for k in range(1, 8) for n in range(7, 21)),
        ),
        Claim(
            "003",
            "5.14.1",
            "so the output is larger than the input (every filter longer than 1)",
            True,
            lambda: all(mode_output_length(n, k, "full") > n for k in range(2, 8) for n in range(7, 21)),
        ),
        Claim(
            "003",
            "5.14.1",
            "in a narrow convolution, the nearer the edge, the fewer times an input is read (stride 1)",
            True,
            lambda: all(
                np.all(np.diff(coverage(n, k)[: (n + 1) // 2]) >= 0) and coverage(n, k)[0] < coverage(n, k)[n // 2]
                for k in range(2, 6)
                for n in range(2 * k, 21)
            ),
            "the source says so without numbers; on a 7x7 input and a 3x3 kernel the corner is read "
            f"{int(coverage(7, 3)[0] ** 2)} time, the centre {int(coverage(7, 3)[3] ** 2)}",
        ),
        # seeds/003 5.20: full, same, valid
        Claim(
            "003",
            "5.20.1",
            "full: a 2x2 image and a 3x3 kernel give a 4x4 result",
            4,
            lambda: mode_output_length(2, 3, "full"),
        ),
        Claim(
            "003",
            "5.20.1",
            "as in 1-D: a full convolution of lengths n1 and n2 has n1 + n2 - 1 values (n1 = 2, n2 = 3)",
            4,
            lambda: len(np.convolve(np.ones(2), np.ones(3), mode="full")),
        ),
        Claim(
            "003",
            "5.20.2",
            "full, stride 1: N1 + N2 - 1",
            True,
            lambda: all(mode_output_length(n, k, "full") == n + k - 1 for n in range(1, 16) for k in range(1, n + 1)),
        ),
        Claim(
            "003",
            "5.20.2",
            "same, stride 1: N1",
            True,
            lambda: all(mode_output_length(n, k, "same") == n for n in range(1, 16) for k in range(1, n + 1)),
            f"holds, but an even kernel needs asymmetric padding (N1 = 5, N2 = 4: {even_same[0]} zero before, "
            f"{even_same[1]} after)",
        ),
        Claim(
            "003",
            "5.20.2",
            "valid, stride S: (N1 - N2)/S + 1",
            True,
            lambda: formula_agrees(
                lambda n, k, s, p: (n - k) / s + 1,
                [(n, k, s, 0) for n in range(1, 16) for k in range(1, n + 1) for s in range(1, 5) if (n - k) % s == 0],
            ),
            "holds when S divides N1 - N2; otherwise it is floor((N1 - N2)/S) + 1 (N1 = 8, N2 = 3, S = 2 "
            f"gives {conv_output_length(8, 3, 2)}, not {literal_valid:g}): the last rows are never used",
        ),
    ]


CLAIMS = _claims()
