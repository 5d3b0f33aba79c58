"""Layer shape traces and parameter counts."""

import pytest

from cnnbook.counts import conv_params, dense_params
from cnnbook.shapes import CIFAR10_EXAMPLE, ConvLayer, FCLayer, PoolLayer, ReLULayer, trace


def test_cifar10_example():
    rows = trace(*CIFAR10_EXAMPLE)
    assert [r.layer for r in rows] == ["INPUT", "CONV", "RELU", "POOL", "FC"]
    assert [r.shape for r in rows] == [(32, 32, 3), (32, 32, 12), (32, 32, 12), (16, 16, 12), (1, 1, 10)]
    assert [r.params for r in rows] == [0, (3 * 3 * 3 + 1) * 12, 0, 0, (16 * 16 * 12 + 1) * 10]


def test_valid_conv_and_strided_pool():
    rows = trace(
        (28, 28, 1),
        [ConvLayer(20, 5), PoolLayer(2), ConvLayer(40, 5, stride=1), PoolLayer(3, stride=2), ReLULayer(), FCLayer(100)],
    )
    assert [r.shape for r in rows][1:5] == [(24, 24, 20), (12, 12, 20), (8, 8, 40), (3, 3, 40)]


def test_counts():
    assert conv_params(5, 1, 20) == 520 and conv_params(3, 3, 12, bias=False) == 324
    assert dense_params(784, 100) == 78500
    with pytest.raises(ValueError, match="c_in must be a positive integer"):
        conv_params(3, 0, 4)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        trace((32, 32), [ReLULayer()])


def test_the_chapter_1_trace_agrees_with_chapter_9s_architectures():
    # chapter 1's four spec classes are the deliberately small teaching version of cnnbook.architectures
    from cnnbook.architectures import Conv, Dense, Flatten, Pool
    from cnnbook.architectures import trace as full_trace

    rows = trace((28, 28, 3), [ConvLayer(8, 5), PoolLayer(2), ConvLayer(16, 3, padding="same"), FCLayer(10)])
    full = full_trace([Conv(8, 5), Pool("max", 2), Conv(16, 3, 1, 1), Flatten(), Dense(10)], (3, 28, 28))
    assert [(r.shape[2], *r.shape[:2]) for r in rows[1:4]] == [r.output_shape for r in full[:3]]
    assert [r.params for r in rows[1:]] == [r.params for r in full if r.kind != "flatten"]
