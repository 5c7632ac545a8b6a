"""The lesson "What does a unit track?": each claim of its text, proven by really training
(what the lesson's file sets up) and reading the whole paragraph as the app's Read a text does."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core import session as CS
from rnnviz.core import text as TX
from rnnviz.core.app import App
from rnnviz.core.training import TrainSession, single_blas_thread


@pytest.fixture(scope="module")
def read():
    """(text, h) of the lesson's model, trained as the lesson sets it up, reading its paragraph."""
    single_blas_thread()
    config = CS.load_lesson("what-does-a-unit-track").training.config
    s = TrainSession(config.replace(test_every=config.steps))
    s.run_until(config.steps)
    assert s.updates == 300 and config.hidden_size == 32  # "the network's 32 units"
    model = s.models()[s.snapshot().runs[0].key]
    text = config.text
    app = App()
    app.use_model(model.rnn.layers[0], "trained")
    app.update(signal="custom", custom=tuple(map(tuple, TX.one_hot(text, s.task.chars.chars).tolist())),
               T=len(text), text=text)
    app.recompute()
    return text, app.result.cells[0].trace.h


def places(text, ch):
    return np.array([c == ch for c in text])


def test_the_top_unit_for_every_full_stop_is_a_full_stop_detector(read):
    text, h = read
    best = TX.rank_mask(h, places(text, "."))[0]
    stops = h[places(text, "."), best.unit]
    assert len(stops) == 5 and stops.min() > 0.8  # "above 0.8 at all five full stops"
    assert best.outside < 0.0  # "below 0 on average elsewhere"
    assert best.separated > 0.8  # "higher at each of them than at 80 % of all other characters"


@pytest.mark.parametrize("ch", [" ", "e"])
def test_a_space_or_an_e_gives_no_unit_that_clean(read, ch):
    text, h = read
    stop = TX.rank_mask(h, places(text, "."))[0]
    other = TX.rank_mask(h, places(text, ch), top=None)
    assert max(m.separated for m in other) < stop.separated - 0.3
    assert other[0].score < stop.score
