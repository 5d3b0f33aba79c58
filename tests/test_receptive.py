"""Receptive fields: the recurrence against the brute-force answer, real networks, the effective field."""

import numpy as np
import pytest

from cnnbook import architectures as arch
from cnnbook.receptive import (
    Residual,
    Stage,
    effective_field,
    erf_network,
    fields,
    influencing_inputs,
    mass_side,
    network_field,
    path_counts,
    spread,
    stages_of,
    uniform_field,
)


def _check_against_brute_force(steps, n, index):
    first, last = fields(steps)[-1].extent(index)
    seen = influencing_inputs(steps, n, index)
    assert all(first <= i <= last for i in seen), (steps, index, first, last, seen)  # none (padding only) is fine
    if first >= 0 and last <= n - 1:  # a field inside the input: its two ends are read, by the outermost taps
        assert seen and (seen[0], seen[-1]) == (first, last), (steps, index, first, last, seen)
    return seen


def test_worked_examples():
    assert [f.size for f in fields([Stage(3), Stage(3), Stage(2, 2), Stage(3)])] == [3, 5, 6, 10]
    assert [f.jump for f in fields([Stage(3), Stage(3), Stage(2, 2), Stage(3)])] == [1, 1, 2, 2]
    assert fields([Stage(3, d=2)])[0].size == 5
    assert fields([Stage(3, p=1)])[0].extent(0) == (-1, 1)  # the first output's field starts in the padding


@pytest.mark.parametrize("seed", range(40))
def test_the_recurrence_agrees_with_perturbing_each_input(seed):
    rng = np.random.default_rng(seed)
    steps = [
        Stage(int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 4)))
        for _ in range(rng.integers(1, 5))
    ]
    n = length = 90
    for step in steps:
        length = (length + 2 * step.p - step.span) // step.s + 1
    if length < 1:
        pytest.skip("this random stack does not fit the input")
    for index in {0, length // 2, length - 1}:
        _check_against_brute_force(steps, n, index)


def test_dilation_leaves_holes_the_formula_counts_as_seen():
    seen = _check_against_brute_force([Stage(3, d=2), Stage(3, d=2)], 20, 0)
    assert seen == [0, 2, 4, 6, 8] and fields([Stage(3, d=2), Stage(3, d=2)])[-1].size == 9  # gridding


def test_a_residual_block_sees_the_union_of_its_paths():
    block = Residual((Stage(3, p=1), Stage(3, p=1)), ())
    assert fields([block])[0].size == 5
    assert _check_against_brute_force([block], 15, 7) == list(range(5, 10))


@pytest.mark.parametrize(
    ("name", "layer", "size", "jump"),
    [
        ("LeNet-5", "C5", 32, 4),
        ("AlexNet", "pool5", 195, 32),
        ("VGG-16", "pool5", 212, 32),
        ("ResNet-18", "conv5_2", 435, 32),
        ("ResNet-50", "conv5_3", 483, 32),
    ],
)
def test_the_milestone_networks(name, layer, size, jump):
    last, field = network_field(arch.MILESTONES[name]())
    assert (last, field.size, field.jump) == (layer, size, jump)


@pytest.mark.parametrize("name", ["AlexNet", "VGG-16", "ResNet-50"])
def test_the_milestone_networks_by_brute_force(name):
    steps = [step for _, step in stages_of(arch.MILESTONES[name]().layers)]
    n = 1200  # long enough that an output in the middle has its whole field inside the input
    field = fields(steps)[-1]
    index = int((n / 2 - field.start) // field.jump)
    seen = _check_against_brute_force(steps, n, index)
    assert seen[-1] - seen[0] + 1 == field.size


def test_inception_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="Inception"):
        stages_of(arch.googlenet().layers)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        Stage(0)
    with pytest.raises(ValueError, match="p must be an integer >= 0"):
        Stage(3, p=-1)
    with pytest.raises(ValueError, match="below the output length 3"):
        influencing_inputs([Stage(3)], 5, 3)
    net, features, _ = erf_network(0)
    with pytest.raises(ValueError, match=r"shape \(N, H, W\)"):
        effective_field(features, np.zeros((2, 28, 28, 1), np.float32))


def test_the_effective_field_lies_inside_the_theoretical_one():
    net, features, stages = erf_network(0)
    images = np.random.default_rng(0).uniform(size=(20, 28, 28)).astype(np.float32)
    field = effective_field(features, images)
    first, last = fields(stages)[-1].extent(7)  # the centre of the 14x14 output
    lo, hi = int(first), int(last) + 1
    assert field.shape == (28, 28) and field.sum() == pytest.approx(1.0)
    assert field[lo:hi, lo:hi].sum() == pytest.approx(1.0) and field[lo:hi, lo:hi].min() >= 0
    assert field[: lo - 1].sum() == 0 and field[hi + 1 :].sum() == 0
    centre = ((first + last) / 2,) * 2
    assert spread(field, centre) < spread(uniform_field(field.shape, first, last), centre)


def test_spread_and_uniform_field():
    one = np.zeros((5, 5))
    one[2, 2] = 1.0
    assert spread(one, (2, 2)) == 0
    flat = uniform_field((5, 5), 1, 3)
    assert flat.sum() == pytest.approx(1.0) and flat[1:4, 1:4].min() == pytest.approx(1 / 9)
    assert spread(flat, (2, 2)) == pytest.approx(np.sqrt(12 / 9))


def test_mass_side():
    field = np.zeros((7, 7))
    field[3, 3], field[0, 0] = 0.6, 0.4
    assert mass_side(field, 0.5) == 1 and mass_side(field, 0.9) == 7


def test_path_counts_are_the_chains_of_taps():
    stack = [Stage(3, p=1), Stage(3, p=1), Stage(2, 2), Stage(3, p=1), Stage(3, p=1)]
    counts = path_counts(stack, 28, 7)
    assert counts.sum() == 3 * 3 * 2 * 3 * 3  # one path per choice of tap in each layer (no padding reached)
    assert np.flatnonzero(counts).tolist() == influencing_inputs(stack, 28, 7)
    assert counts[8:22].tolist() == counts[8:22][::-1].tolist()  # symmetric about the field's centre, 14.5
    with pytest.raises(ValueError, match="below the output length"):
        path_counts(stack, 28, 14)
