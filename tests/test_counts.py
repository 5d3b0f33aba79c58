"""Parameter counts with and without sharing, dense layers, and the edge-detection costs (chapter 2)."""

import pytest

from cnnbook.counts import (
    ALEXNET_CONV1,
    LENET_CONV1,
    EXAMPLE_32x32,
    conv_flops,
    conv_output_shape,
    conv_params,
    dense_matrix_entries,
    dense_matvec_flops,
    dense_params,
    edge_efficiency,
    layer_counts,
    locally_connected_params,
    rounded,
    rounded_down,
    unshared_conv_params,
)


@pytest.mark.parametrize(
    "example, shape, units, shared, unshared",
    [
        # worked by hand: (8*8*3+1)*20 = 193*20, units 14*14*20 = 3920, 193*3920
        (EXAMPLE_32x32, (14, 14, 20), 3920, 3860, 756_560),
        # (11*11*3+1) = 364; 364*96 = 34,944; 55*55*96 = 290,400; 290,400*364 = 105,705,600
        (ALEXNET_CONV1, (55, 55, 96), 290_400, 34_944, 105_705_600),
        # (5*5+1) = 26; 26*6 = 156; 24*24*6 = 3456; 3456*26 = 89,856
        (LENET_CONV1, (24, 24, 6), 3456, 156, 89_856),
    ],
)
def test_the_sources_examples(example, shape, units, shared, unshared):
    counts = layer_counts(*example)
    assert (counts.output_shape, counts.units, counts.shared, counts.unshared) == (shape, units, shared, unshared)
    # without sharing there is one filter per output position: the ratio is H_out * W_out
    assert counts.ratio == shape[0] * shape[1]


def test_dense_layer_from_the_whole_input():
    counts = layer_counts((4, 4, 1), 3, 2)  # output 2x2x2 = 8 units, each sees all 16 inputs + a bias
    assert counts.dense == 17 * 8 and counts.unshared == (9 + 1) * 8 and counts.shared == (9 + 1) * 2


def test_locally_connected_and_unshared_agree():
    assert locally_connected_params(14, 14, 8, 3, 20) == unshared_conv_params((32, 32, 3), 8, 20, 2, 1)
    assert locally_connected_params(2, 3, 2, 1, 1, bias=False) == 6 * 4
    assert unshared_conv_params((5, 5, 1), 3, 1, bias=False) == 9 * 9


def test_the_1000x1000_example():
    assert dense_params(10**6, 10**6, bias=False) == 10**12
    assert locally_connected_params(1000, 1000, 10, 1, 1, bias=False) == 10**8
    assert conv_params(10, 1, 100, bias=False) == 10**4


def test_edge_detection_costs_by_hand():
    small = edge_efficiency(height=2, width=3)  # output 2x2; each output: 2 multiplications, 1 addition
    assert small.out_shape == (2, 2) and small.conv_flops == 12
    assert small.dense_entries == 6 * 4 and small.dense_flops == 4 * (2 * 6 - 1)
    assert small.sparse_entries == 8 and small.sparse_flops == small.conv_flops
    big = edge_efficiency()
    assert big.out_shape == (280, 319)
    assert big.conv_flops == 267_960 and big.sparse_entries == 178_640
    assert big.dense_entries == 320 * 280 * 319 * 280 == 8_003_072_000
    assert big.dense_flops == 319 * 280 * (2 * 320 * 280 - 1)
    assert 59_000 < big.flops_ratio < 60_500 and big.storage_ratio == 4_001_536_000


def test_counting_helpers():
    assert conv_flops(1, 1, 9) == 17 and dense_matrix_entries(3, 2) == 6 and dense_matvec_flops(3, 2) == 10
    assert rounded_down(8_003_072_000, 1e9) == 8 * 10**9 and rounded(59_733.5, 1e4) == 60_000
    assert conv_output_shape((7, 9, 3), 3, 4, stride=2) == (3, 4, 4)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: layer_counts((32, 32), 3, 4), r"\(height, width, depth\)"),
        (lambda: locally_connected_params(0, 4, 3, 1, 1), "out_h must be a positive integer"),
        (lambda: edge_efficiency(width=1), "kernel_entries must be at most the width 1"),
        (lambda: layer_counts((4, 4, 1), 5, 1), "spans 5 inputs"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_counts_match_torch_layers():
    torch = pytest.importorskip("torch")
    for k, c_in, c_out in [(11, 3, 96), (5, 1, 6), (8, 3, 20), (1, 7, 2)]:
        layer = torch.nn.Conv2d(c_in, c_out, k)
        assert sum(p.numel() for p in layer.parameters()) == conv_params(k, c_in, c_out)
    for shape, k, filters, stride, padding in (EXAMPLE_32x32, ALEXNET_CONV1, LENET_CONV1):
        x = torch.zeros(1, shape[2], shape[0], shape[1])
        out = torch.nn.functional.conv2d(x, torch.zeros(filters, shape[2], k, k), stride=stride, padding=padding)
        assert tuple(out.shape[2:]) + (out.shape[1],) == layer_counts(shape, k, filters, stride, padding).output_shape
    assert sum(p.numel() for p in torch.nn.Linear(48, 5).parameters()) == dense_params(48, 5)
