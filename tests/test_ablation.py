"""cnnbook.ablation: the rows as the source defines them, the resumable runner, and the committed full records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnbook.ablation import (
    FULL,
    FULL_RESULTS,
    ROWS,
    Data,
    Mode,
    Schedule,
    full_records,
    pieces,
    predictions_array,
    read_record,
    row,
    run_ladder,
    runner,
    write_record,
)
from cnnbook.ablation.claims import flattened_size
from cnnbook.nn import Dense, Dropout, ReLU, Sigmoid

TINY = Mode("tiny", train_size=40, validation_size=20, max_epochs=1)


def test_rows_are_the_sources_ladder():
    assert [r.number for r in ROWS] == list(range(1, 9))
    assert [r.source_accuracy for r in ROWS] == [97.80, 98.78, 99.06, 99.23, 99.37, 99.43, 99.60, 99.67]
    assert [r.expanded for r in ROWS] == [False] * 4 + [True] * 4
    assert [r.l2 for r in ROWS] == [0, 0, 0, 0.1, 0.1, 0.1, 0, 0]  # Nielsen's row 7 code passes no lmbda
    assert ROWS[7].members == 5 and all(r.members == 1 for r in ROWS[:7])


@pytest.mark.parametrize(
    "number, flat, activation, dense, dropouts",
    [
        (1, 784, Sigmoid, [100, 10], 0),
        (2, 2880, Sigmoid, [100, 10], 0),
        (3, 640, Sigmoid, [100, 10], 0),
        (4, 640, ReLU, [100, 10], 0),
        (6, 640, ReLU, [100, 100, 10], 0),
        (7, 640, ReLU, [1000, 1000, 10], 3),
    ],
)
def test_each_row_builds_its_network(number, flat, activation, dense, dropouts):
    network = row(number).build(0)
    assert flattened_size(network) == flat
    assert [layer.out_features for layer in network.layers if isinstance(layer, Dense)] == dense
    assert {type(layer) for layer in network.layers} & {ReLU, Sigmoid} == {activation}
    assert sum(isinstance(layer, Dropout) for layer in network.layers) == dropouts
    assert network.forward(np.zeros((3, 28, 28), np.float32)).shape == (3, 10)


def test_seeds_fix_the_weights():
    a, b, c = row(4).build(1), row(4).build(1), row(4).build(2)
    assert all(np.array_equal(a.state()[k], b.state()[k]) for k in a.state())
    assert not np.array_equal(a.state()["0.weight"], c.state()["0.weight"])


def test_schedule_cosine_and_constant():
    cosine = Schedule(epochs=4, batch_size=8, learning_rate=0.2, cosine=True)
    rates = [cosine.rate(e) for e in range(4)]
    assert rates[0] == pytest.approx(0.2) and cosine.rate(2) == pytest.approx(0.1)
    assert all(x > y > 0 for x, y in zip(rates, rates[1:]))
    assert Schedule(epochs=4, batch_size=8, learning_rate=0.2).rate(3) == 0.2


def test_weight_decay_is_network3s_lambda_times_m_over_n():
    # network3.py: cost = mean loss + 0.5*lmbda*||w||^2/num_training_batches, num_training_batches = n/10
    assert row(4).weight_decay(50_000) == pytest.approx(2e-5)
    assert row(5).weight_decay(250_000) == pytest.approx(4e-6)
    assert row(7).weight_decay(250_000) == 0.0


def test_pieces_train_each_network_once_and_the_ensemble_starts_with_row_7():
    plan = pieces([row(7), row(8)])
    assert [(p.row.number, p.member) for p in plan] == [(7, 1), (8, 2), (8, 3), (8, 4), (8, 5)]
    assert [(p.row.number, p.member) for p in pieces([row(8)])][0] == (7, 1)
    assert len({p.seed for p in plan}) == 5


def test_records_are_written_whole(tmp_path):
    write_record(tmp_path, "row-1.json", {"row": 1})
    with pytest.raises(TypeError):
        write_record(tmp_path, "row-1.json", {"row": object()})  # not JSON: the old record stays
    assert read_record(tmp_path, "row-1.json") == {"row": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["row-1.json"]
    assert read_record(tmp_path, "row-2.json") is None


def test_run_resumes_and_retrains_only_what_changed(tmp_path, tiny_split, monkeypatch):
    first = run_ladder(TINY, rows=[1, 8], results=tmp_path, split=tiny_split, progress=False, log=lambda _: None)
    assert sorted(first) == [1, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["row-1.json", "row-7.json", "row-8.json"] + [f"row-8-member-{m}.json" for m in range(2, 6)]
    )
    record = first[1]
    assert record["mode"] == "tiny" and record["train_size"] == 40 and record["test_size"] == 20
    assert record["epochs"] == 1 and record["best_epoch"] == 1
    assert 0 <= record["test_accuracy"] <= 100 and len(record["test_predictions"]) == 20

    def no_training(*args, **kwargs):
        raise AssertionError("a recorded piece was trained again")

    monkeypatch.setattr(runner, "train_piece", no_training)
    again = run_ladder(TINY, rows=[1, 8], results=tmp_path, split=tiny_split, progress=False, log=lambda _: None)
    assert again[1] == first[1] and again[8]["test_accuracy"] == first[8]["test_accuracy"]

    stale = json.loads((tmp_path / "row-1.json").read_text())
    stale["schedule"]["epochs"] = 99
    (tmp_path / "row-1.json").write_text(json.dumps(stale))
    with pytest.raises(AssertionError, match="trained again"):
        run_ladder(TINY, rows=[1], results=tmp_path, split=tiny_split, progress=False, log=lambda _: None)


def test_the_ensemble_votes_its_members_predictions(tiny_split):
    data = Data(TINY, tiny_split)
    labels = data.test.labels
    wrong = (labels + 1) % 10
    members = [
        {
            "test_predictions": "".join(map(str, p)),
            "validation_predictions": "0" * 20,
            "mode": "tiny",
            "epochs": 1,
            "seconds": 1.0,
            "images_per_second": 10,
            "schedule": {},
            "train_size": 40,
            "test_accuracy": 0.0,
        }
        for p in (labels, labels, wrong, wrong, labels)
    ]
    assert runner.vote(row(8), members, data)["test_accuracy"] == 100.0


def test_quick_mode_writes_nothing_without_a_folder(tiny_split, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    records = run_ladder(TINY, rows=[4], split=tiny_split, progress=False, log=lambda _: None)
    assert records[4]["mode"] == "tiny" and not list(tmp_path.iterdir())


# -- the committed full run ----------------------------------------------------------------------------

RECORDED = full_records()


@pytest.fixture(scope="module")
def full_data(mnist_split) -> Data:
    return Data(FULL, mnist_split)


@pytest.mark.skipif(not RECORDED, reason="no full run is recorded yet")
@pytest.mark.parametrize("number", sorted(RECORDED))
def test_full_records_are_what_their_predictions_score(number, full_data):
    """A record's accuracies are recomputed from its predictions and the real labels, and its settings are the row's."""
    record = RECORDED[number]
    assert record["mode"] == "full" and record["row"] == number and record["test_size"] == 10_000
    for key, dataset in (("test", full_data.test), ("validation", full_data.validation)):
        predicted = predictions_array(record[f"{key}_predictions"])
        assert record[f"{key}_accuracy"] == round(100 * float(np.mean(predicted == dataset.labels)), 2)
    if row(number).members == 1:
        current = runner.settings(runner.Piece(row(number)), FULL, full_data)
        assert {k: record[k] for k in current} == current
    else:
        members = [read_record(FULL_RESULTS, p.record_name) for p in pieces([row(number)])]
        assert record["test_predictions"] == runner.vote(row(number), members, full_data)["test_predictions"]


def test_records_name_their_command_without_the_machines_paths():
    from cnnbook.ablation.records import ROOT, command_line

    assert command_line([str(ROOT / "cnnbook/ablation/__main__.py"), "--full"]) == "python -m cnnbook.ablation --full"
    assert (
        command_line([str(ROOT / "cnnbook/ablation/sweeps.py"), "--full"]) == "python -m cnnbook.ablation.sweeps --full"
    )
    assert (
        command_line([str(ROOT / "benchmarks/train_step.py"), str(ROOT / "results")])
        == "python benchmarks/train_step.py results"
    )
    assert command_line(["/opt/elsewhere/run.py", "/home/someone/data"]) == "python run.py ..."
