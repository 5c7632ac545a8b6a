"""The built-in tasks: shapes, determinism and the statistics the lessons rely on."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.train import TASKS, accuracy, adding, init_model, loss_and_grads, mse, recall, series, sine
from rnnviz.engine.train.tasks import ADDING_BASELINE


def test_recall_shapes_labels_and_mask():
    xs, ys, mask = recall(batch=8, delay=20, seed=3)
    assert xs.shape == (8, 21, 1) and ys.shape == (8, 21) and mask.shape == (8, 21)
    assert ys.dtype == np.int64 and mask.dtype == np.uint8
    assert set(np.unique(xs)) == {-1.0, 1.0}
    np.testing.assert_array_equal(ys[:, -1], (xs[:, 0, 0] > 0).astype(np.int64))
    assert np.all(ys[:, :-1] == 0)
    assert np.all(mask[:, -1] == 1) and np.all(mask[:, :-1] == 0)


def test_recall_statistics():
    xs, ys, _ = recall(batch=20000, delay=5, seed=0)
    assert abs(ys[:, -1].mean() - 0.5) < 0.02  # classes balanced: chance is 50 %
    assert abs(xs[:, 1:].mean()) < 0.01  # distractors carry no sign on average
    # a distractor says nothing about the label
    assert abs(np.mean((xs[:, -1, 0] > 0) == ys[:, -1]) - 0.5) < 0.02


def test_adding_shapes_markers_and_target():
    xs, ys, mask = adding(batch=16, length=50, seed=1)
    assert xs.shape == (16, 50, 2) and ys.shape == (16, 50, 1) and mask.shape == (16, 50)
    assert np.all((xs[:, :, 0] >= 0) & (xs[:, :, 0] < 1))
    markers = xs[:, :, 1]
    assert np.all(markers[:, :25].sum(axis=1) == 1) and np.all(markers[:, 25:].sum(axis=1) == 1)
    np.testing.assert_allclose(ys[:, -1, 0], (xs[:, :, 0] * markers).sum(axis=1), rtol=1e-15)
    assert np.all(ys[:, :-1] == 0) and np.all(mask[:, -1] == 1) and mask.sum() == 16


def test_adding_baseline_of_always_answering_one_is_a_sixth():
    xs, ys, mask = adding(batch=20000, length=20, seed=0)
    loss, _ = mse(np.ones_like(ys), ys, mask)
    assert ADDING_BASELINE == pytest.approx(0.1667, abs=1e-4)
    assert loss == pytest.approx(ADDING_BASELINE, abs=0.005)


@pytest.mark.parametrize("make", [recall, adding, sine])
def test_tasks_are_seeded(make):
    a, b, c = make(4, 10, seed=5), make(4, 10, seed=5), make(4, 10, seed=6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("make", [recall, adding, sine])
def test_tasks_reject_bad_sizes(make):
    with pytest.raises(ValueError, match="batch"):
        make(0, 10)
    with pytest.raises(ValueError):
        make(4, -1)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_task_feeds_a_model_of_its_sizes(name):
    task = TASKS[name]
    xs, ys, mask = task.make(4, 8, seed=0)
    model = init_model("lstm", task.input_size, 5, task.output_size, seed=0)
    g = loss_and_grads(model, xs, ys, mask, loss=task.loss)
    assert np.isfinite(g.loss)


def test_accuracy_counts_selected_steps():
    logits = np.array([[[2.0, 1.0], [0.0, 3.0]]])
    labels = np.array([[0, 0]])
    assert accuracy(logits, labels) == 0.5
    assert accuracy(logits, labels, np.array([[1, 0]])) == 1.0


def test_sine_is_next_value_prediction_at_every_step():
    xs, ys, mask = sine(batch=6, length=30, seed=2)
    assert xs.shape == ys.shape == (6, 30, 1) and mask.shape == (6, 30) and np.all(mask == 1)
    np.testing.assert_array_equal(ys[:, :-1], xs[:, 1:])  # the target is the next input


def test_sine_statistics():
    xs, ys, mask = sine(batch=20000, length=50, seed=0)
    assert mse(np.zeros_like(ys), ys, mask)[0] == pytest.approx(0.25, abs=0.01)  # two sines of amplitude ½
    assert mse(xs, ys, mask)[0] == pytest.approx(0.03, abs=0.005)  # repeating the input
    assert abs(np.mean(ys)) < 0.01


def test_series_windows_predict_the_next_value():
    values = np.arange(100.0) ** 1.5
    xs, ys, mask = series(values, batch=7, length=10, seed=1)
    assert xs.shape == ys.shape == (7, 10, 1) and np.all(mask == 1)
    np.testing.assert_array_equal(ys[:, :-1], xs[:, 1:])
    for b in range(7):
        start = int(np.argmin(np.abs(values - xs[b, 0, 0])))
        np.testing.assert_array_equal(xs[b, :, 0], values[start : start + 10])
    np.testing.assert_array_equal(series(values, 7, 10, seed=1)[0], xs)
    with pytest.raises(ValueError, match="below the series"):
        series(values, 2, 100)
    with pytest.raises(ValueError, match="inf or NaN"):
        series([1.0, np.nan, 2.0], 1, 1)
