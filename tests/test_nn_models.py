"""The one builder of Nielsen's two-convolution networks, and the ladder rows that call it."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from cnnbook.ablation import ROWS
from cnnbook.ablation.rows import two_conv
from cnnbook.nn import Dense, Dropout, Network, ReLU, Sigmoid, nielsen_two_conv


def fingerprint(network: Network) -> str:
    """A short hash of the layer list (its repr) and of every initial weight, in order."""
    digest = hashlib.sha256(repr(network).encode())
    for key, value in network.state().items():
        digest.update(key.encode())
        digest.update(str(value.dtype).encode())
        digest.update(np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()[:16]


#: Recorded with the builders that trained the committed records (results/ablation/), seed 0. A change
#: here means a row no longer builds the network its record was made with.
ROW_FINGERPRINTS = {
    1: "bc248be13d6de0b4",
    2: "47c59b42a9b80059",
    3: "f57f53bdf723408a",
    4: "e3719da16640b7b6",
    5: "e3719da16640b7b6",
    6: "eb33ac61f026d6aa",
    7: "3190dd4549f37a8d",
    8: "3190dd4549f37a8d",
}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"row {row.number}")
def test_every_row_builds_the_network_of_its_record(row):
    assert fingerprint(row.build(0)) == ROW_FINGERPRINTS[row.number]


def test_dropout_goes_before_the_last_or_every_dense_layer():
    def kinds(net: Network) -> list[str]:
        return [type(layer).__name__ for layer in net.layers[7:]]  # after the convolutions and Flatten

    assert kinds(nielsen_two_conv(0, hidden=(30, 20), dropout=0.5)) == [
        "Dense",
        "ReLU",
        "Dense",
        "ReLU",
        "Dropout",
        "Dense",
    ]
    assert kinds(nielsen_two_conv(0, hidden=(30, 20), dropout=0.5, dropout_placement="every")) == [
        "Dropout",
        "Dense",
        "ReLU",
        "Dropout",
        "Dense",
        "ReLU",
        "Dropout",
        "Dense",
    ]
    assert "Dropout" not in kinds(nielsen_two_conv(0, dropout_placement="every"))
    with pytest.raises(ValueError, match="dropout_placement must be one of"):
        nielsen_two_conv(0, dropout=0.5, dropout_placement="first")


def test_the_ladders_two_conv_is_the_engines_builder():
    ladder, engine = two_conv(5, ReLU, (40, 30), 0.25), nielsen_two_conv(5, (40, 30), 0.25, dropout_placement="every")
    assert repr(ladder) == repr(engine)
    for key, value in engine.state().items():
        np.testing.assert_array_equal(ladder.state()[key], value)
    sigmoid = two_conv(0)
    assert {type(layer) for layer in sigmoid.layers} >= {Sigmoid} and ReLU not in {type(x) for x in sigmoid.layers}
    assert all(layer.init == "glorot" for layer in sigmoid.layers if isinstance(layer, Dense))
    assert sum(isinstance(layer, Dropout) for layer in two_conv(0, ReLU, (10, 10), 0.5).layers) == 3
