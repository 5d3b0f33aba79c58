"""Equivariance, pooling, the convolution matrix, locally connected layers, DeepFace and CS231n (chapter 2)."""

import numpy as np
import pytest

from cnnbook.book.display import percent_down
from cnnbook.conv import conv2d
from cnnbook.pooling import max_pool2d
from cnnbook.sharing import (
    CS231N_ENTRIES,
    DEEPFACE,
    DEEPFACE_INPUT,
    DEEPFACE_PAPER_SIZES,
    DEEPFACE_STRIDE_1,
    StackLayer,
    circular_conv2d,
    contraction_flops,
    conv_matrix,
    cs231n_example,
    depth_column,
    equivariance_error,
    explicit_entry,
    forward_flops,
    input_fibre,
    locally_connected2d,
    pooled_unchanged,
    shift,
    tile_weights,
    trace_stack,
    window_of,
)


def test_shift_by_hand():
    x = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(shift(x, 0, 1), [[0, 0, 1], [0, 3, 4], [0, 6, 7]])
    np.testing.assert_array_equal(shift(x, -1, 0), [[3, 4, 5], [6, 7, 8], [0, 0, 0]])
    np.testing.assert_array_equal(shift(x, 0, 1, circular=True), [[2, 0, 1], [5, 3, 4], [8, 6, 7]])
    # I'(x, y) = I(x - l, y): shifting right by l
    big = np.random.default_rng(0).normal(size=(5, 8))
    np.testing.assert_array_equal(shift(big, 0, 3)[:, 3:], big[:, :-3])


def test_convolution_commutes_with_shifts_away_from_borders():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(14, 15)), rng.normal(size=(3, 2))
    for dy, dx in [(0, 3), (2, -1), (-4, 0), (1, 1)]:
        result = equivariance_error(x, w, dy, dx)
        assert result.interior == 0.0 and result.everywhere > 0 and 0 < result.interior_fraction < 1
        assert equivariance_error(x, w, dy, dx, circular=True).everywhere < 1e-12


def test_stride_breaks_equivariance_unless_the_shift_is_a_multiple():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(16, 16)), rng.normal(size=(3, 3))
    assert equivariance_error(x, w, 0, 2, stride=2).interior == 0.0
    assert equivariance_error(x, w, 2, 4, stride=2, circular=True).everywhere < 1e-12
    assert equivariance_error(x, w, 0, 1, stride=2).interior > 0.1
    assert equivariance_error(x, w, 0, 1, stride=2, circular=True).everywhere > 0.1


def test_circular_conv2d_by_hand():
    x = np.arange(9.0).reshape(3, 3)
    out = circular_conv2d(x, np.array([[1.0, 1.0]]))  # each value plus its right neighbour, wrapping
    np.testing.assert_array_equal(out, x + np.roll(x, -1, axis=1))


def test_max_pool_and_invariance():
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(max_pool2d(x, 2), [[5, 7], [13, 15]])
    np.testing.assert_array_equal(max_pool2d(x, 3, 1), [[10, 11], [14, 15]])
    # a single bright pixel inside a pooling window: a 1-pixel move within the window changes nothing
    spot = np.zeros((4, 4))
    spot[0, 0] = 1.0
    assert pooled_unchanged(spot, 0, 1) == 1.0 and pooled_unchanged(spot, 0, 2) == 0.5
    with pytest.raises(ValueError, match="spans 5 inputs"):
        max_pool2d(np.ones((4, 6)), 5)


def test_max_pool_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(size=(9, 8))
    for size, stride in [(2, 2), (3, 2), (3, 1)]:
        expected = torch.nn.functional.max_pool2d(torch.tensor(x)[None, None], size, stride)[0, 0].numpy()
        np.testing.assert_array_equal(max_pool2d(x, size, stride), expected)


def test_conv_matrix():
    rng = np.random.default_rng(4)
    x, kernel = rng.normal(size=(5, 6)), rng.normal(size=(2, 3))
    matrix = conv_matrix(x.shape, kernel)
    assert matrix.shape == (4 * 4, 30)
    np.testing.assert_allclose(matrix @ x.ravel(), conv2d(x, kernel).ravel(), atol=1e-12)
    assert np.count_nonzero(matrix) == 6 * 16  # every row holds the 6 kernel entries
    edge = np.array([[-1.0, 1.0]])
    rows, cols, values = conv_matrix((280, 320), edge, sparse=True)
    assert len(values) == 2 * 319 * 280 and rows.max() == 319 * 280 - 1 and cols.max() == 320 * 280 - 1
    with pytest.raises(ValueError, match="use sparse=True"):
        conv_matrix((280, 320), edge)


def _local_naive(x, w, b, s):
    oh, ow, k_out, _, kh, kw = w.shape
    out = np.zeros((k_out, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for k in range(k_out):
                out[k, i, j] = np.sum(x[:, i * s : i * s + kh, j * s : j * s + kw] * w[i, j, k]) + b[i, j, k]
    return out


def test_locally_connected_against_loops_and_convolution():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 9, 8))
    w, b = rng.normal(size=(4, 3, 2, 3, 3, 3)), rng.normal(size=(4, 3, 2))
    np.testing.assert_allclose(locally_connected2d(x, w, b, stride=2), _local_naive(x, w, b, 2), atol=1e-12)
    # the same weights at every position: exactly the convolution (with padding and a batch too)
    shared, bias = rng.normal(size=(5, 3, 3, 2)), rng.normal(size=5)
    batch = rng.normal(size=(2, 3, 9, 8))
    local_w, local_b = tile_weights(shared, 5, 5, bias)
    np.testing.assert_allclose(
        locally_connected2d(batch, local_w, local_b, stride=2, padding=1),
        conv2d(batch, shared, bias, stride=2, padding=1),
        atol=1e-12,
    )
    # and different weights at one position change only that position
    local_w[2, 3] += 1.0
    diff = np.abs(locally_connected2d(batch, local_w, local_b, 2, 1) - conv2d(batch, shared, bias, 2, 1))
    assert set(zip(*np.nonzero(diff.sum(axis=(0, 1)) > 1e-9))) == {(2, 3)}


def test_locally_connected_matches_torch_unfold():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(3, 4, 4, 3, 2, 2)), rng.normal(size=(3, 4, 4))
    cols = torch.nn.functional.unfold(torch.tensor(x), (2, 2), stride=2, padding=1)  # (N, C*2*2, 3*4)
    weights = torch.tensor(w).reshape(12, 4, 3 * 2 * 2)  # (positions, K, C*kh*kw)
    expected = torch.einsum("ncl,lkc->nkl", cols, weights).reshape(2, 4, 3, 4) + torch.tensor(b).permute(2, 0, 1)
    np.testing.assert_allclose(locally_connected2d(x, w, b, stride=2, padding=1), expected.numpy(), atol=1e-10)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: locally_connected2d(np.ones((3, 5, 5)), np.ones((2, 2, 1, 3, 3, 3))),
            r"w must have shape \(3, 3, K, 3",
        ),
        (lambda: locally_connected2d(np.ones((5, 5)), np.ones((3, 3, 1, 1, 3, 3))), r"\(C, H, W\)"),
        (
            lambda: locally_connected2d(np.ones((1, 5, 5)), np.ones((3, 3, 1, 1, 3, 3)), np.ones(3)),
            "one bias per output",
        ),
        (lambda: shift(np.ones(3), 1, 0), "at least 2 axes"),
        (lambda: equivariance_error(np.ones((2, 4, 4)), np.ones((3, 3)), 1, 0), "must be 2-D"),
        (lambda: trace_stack((10, 10, 1), [StackLayer("X", "dropout")]), "layer kind must be"),
        (lambda: forward_flops("dense", (5, 5, 1), 3, 1), "kind must be"),
        (lambda: contraction_flops("ab,bc->ac", (2, 3), (4, 5)), "index 'b' has sizes 3 and 4"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_deepface_stack_has_the_papers_sizes():
    rows = trace_stack(DEEPFACE_INPUT, DEEPFACE)
    assert {r.name: r.shape[0] for r in rows[:6]} == DEEPFACE_PAPER_SIZES
    assert [r.shape[:2] for r in rows[:6]] == [(142, 142), (71, 71), (63, 63), (55, 55), (25, 25), (21, 21)]
    assert rows[0].params == (11 * 11 * 3 + 1) * 32 and rows[1].params == 0
    l4 = rows[3]
    assert l4.params == l4.params_unshared == 55 * 55 * 16 * (9 * 9 * 16 + 1) and l4.params_shared == 16 * 1297
    assert rows[6].params == (21 * 21 * 16 + 1) * 4096 and rows[7].params == 4097 * 4030
    total = sum(r.params for r in rows)
    assert 115e6 < total < 125e6  # the paper: "more than 120 million parameters"


def test_deepface_read_with_stride_1_doubles_the_count():
    # the source's list has no strides; read literally it gives the 245 million the chapter once showed
    rows = trace_stack(DEEPFACE_INPUT, DEEPFACE_STRIDE_1)
    assert [r.shape[0] for r in rows[:6]] == [142, 70, 62, 54, 48, 44]
    assert sum(r.params for r in rows) == 245_318_286


def test_share_is_never_rounded_up_to_everything():
    rows = trace_stack(DEEPFACE_INPUT, DEEPFACE)
    share = sum(r.params for r in rows if r.kind in ("local", "fc")) / sum(r.params for r in rows)
    assert f"{share:.1%}" == "100.0%" and percent_down(share, 1) == "99.9%" and percent_down(share, 2) == "99.95%"
    assert percent_down(1.0) == "100.0%" and percent_down(0.29, 0) == "29%"


def test_forward_cost_does_not_depend_on_sharing():
    assert contraction_flops("ij,j->i", (3, 4), (4,)) == 2 * 12
    assert forward_flops("conv", (6, 6, 1), 3, 1) == 2 * 4 * 4 * 9
    for shape, k, filters in [((63, 63, 16), 9, 16), ((10, 12, 3), 3, 5)]:
        assert forward_flops("local", shape, k, filters) == forward_flops("conv", shape, k, filters)


def test_cs231n_depth_slices():
    example = cs231n_example(seed=7)
    assert example.X.shape == (11, 11, 4) and example.W.shape == (2, 5, 5, 4) and example.V.shape == (4, 4, 2)
    for (x, y, depth), window in CS231N_ENTRIES.items():
        assert np.isclose(explicit_entry(example, window, depth), example.V[x, y, depth])
        assert window_of(example, x, y, depth) == window
    # every entry of V is such a sum, with the window moving 2 per step
    for x in range(4):
        for y in range(4):
            window = f"X[{2 * x}:{2 * x + 5},{2 * y}:{2 * y + 5},:]"
            assert np.isclose(explicit_entry(example, window, 1), example.V[x, y, 1])
    with pytest.raises(ValueError, match="must look like"):
        explicit_entry(example, "Y[0:5]", 0)


def test_a_depth_column_looks_at_one_window():
    example = cs231n_example(seed=3)
    for x in range(4):
        for y in range(4):
            column = depth_column(example, x, y)
            # every neuron of the column sums over the same window, the one the stride puts at (x, y)
            assert column.shared_window == f"X[{2 * x or ''}:{2 * x + 5},{2 * y or ''}:{2 * y + 5},:]"
            assert len(column.windows) == example.V.shape[2] == example.W.shape[0]
            expected = [explicit_entry(example, column.shared_window, d) for d in range(len(column.windows))]
            np.testing.assert_allclose(column.values, expected, rtol=1e-12)
    # the source's own pairs V[x,0,0] and V[x,0,1] name the same window: the column's two neurons
    for (x, y, depth), window in CS231N_ENTRIES.items():
        assert depth_column(example, x, y).windows[depth] == window
    # the input's fibre X[x, y, :] has one value per channel, and the column is a copy
    assert input_fibre(example, 10, 0).shape == (4,)
    column = depth_column(example, 0, 0)
    column.values[:] = 0
    assert example.V[0, 0, 0] != 0


@pytest.mark.parametrize("x, y", [(4, 0), (0, -1), (1.0, 0), (True, 0)])
def test_depth_column_bad_position(x, y):
    with pytest.raises(ValueError, match="integer position"):
        depth_column(cs231n_example(), x, y)


def test_input_fibre_bad_position():
    with pytest.raises(ValueError, match="position of the 11x11 input"):
        input_fibre(cs231n_example(), 11, 0)


def test_cs231n_volume_matches_torch():
    torch = pytest.importorskip("torch")
    ex = cs231n_example(seed=8)
    out = torch.nn.functional.conv2d(
        torch.tensor(ex.X).permute(2, 0, 1)[None], torch.tensor(ex.W).permute(0, 3, 1, 2), torch.tensor(ex.b), stride=2
    )
    np.testing.assert_allclose(ex.V, out[0].permute(1, 2, 0).numpy(), atol=1e-10)


def test_fitting_recovers_a_shared_filter_and_local_filters():
    from cnnbook.sharing import apply_local, apply_shared, fit_local, fit_shared

    rng = np.random.default_rng(9)
    xs, w = rng.normal(size=(30, 7, 6)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(apply_shared(xs, w), conv2d(xs[:, None], w[None, None])[:, 0], atol=1e-12)
    np.testing.assert_allclose(fit_shared(xs, apply_shared(xs, w), 3), w, atol=1e-10)
    local = rng.normal(size=(5, 4, 3, 3))
    np.testing.assert_allclose(fit_local(xs, apply_local(xs, local), 3), local, atol=1e-10)
    with pytest.raises(ValueError, match=r"ys must have shape \(30, 5, 4\)"):
        fit_shared(xs, np.zeros((30, 4, 4)), 3)


def test_sharing_experiment():
    from cnnbook.sharing import sharing_experiment

    few = {(r.task, r.model.split()[0]): r for r in sharing_experiment(n_train=5, n_test=50)}
    many = {(r.task, r.model.split()[0]): r for r in sharing_experiment(n_train=40, n_test=50)}
    # a translation-invariant target: sharing fits and generalises from 5 images; 5 < 9 unknowns per position do not
    assert few["same everywhere", "shared"].test_rms < 1e-9 and few["same everywhere", "unshared"].test_rms > 0.1
    # a position-dependent target: no single filter fits; enough data pins down the local filters
    assert many["aligned face", "shared"].train_rms > 0.5 and many["aligned face", "unshared"].test_rms < 1e-9
    assert few["same everywhere", "shared"].params == 9 and few["same everywhere", "unshared"].params == 10 * 10 * 9
