"""view.panel: a session (a lesson) may name the panel to bring to the front of its tab group."""

import json

import pytest

from rnnviz.core import model as M
from rnnviz.core import session as CS
from rnnviz.engine import InputError


def _doc(panel=...):
    data = CS.SessionData(M.Settings(hidden_size=2, T=5))
    doc = CS.to_document(data if panel is ... else data.replace(panel=panel))
    return doc


def test_panel_round_trips_and_is_absent_by_default():
    doc = _doc()
    assert "panel" not in doc["view"]  # older files and every session without one: unchanged bytes
    assert CS.loads_session(json.dumps(doc).encode()).panel is None
    doc = _doc("stateSpacePanel")
    assert doc["view"]["panel"] == "stateSpacePanel"
    assert CS.loads_session(json.dumps(doc).encode()).panel == "stateSpacePanel"


@pytest.mark.parametrize("bad, words", [(3, "must be text"), ("../x", "panel's id"), ("a" * 101, "at most 100"),
                                        ("", "panel's id")])
def test_a_bad_panel_is_one_clean_line(bad, words):
    doc = _doc()
    doc["view"]["panel"] = bad
    with pytest.raises(InputError) as err:
        CS.loads_session(json.dumps(doc).encode(), "s.rnnviz")
    assert words in str(err.value) and "view.panel" in str(err.value) and "\n" not in str(err.value)
