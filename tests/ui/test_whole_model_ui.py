"""A whole model in the window: the Output row shows the file's head, and tokens can be typed."""

from pathlib import Path

import numpy as np
import pytest


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "whole"


@pytest.fixture
def window(shown_window):
    return shown_window


def test_the_output_row_shows_the_heads_probabilities_and_text_can_be_typed(window, qtbot):
    from rnnviz.ui import tokens

    c = window.controller
    panel = window.panels["outputPanel"]
    assert panel.row is None and not panel.isVisibleTo(window)
    assert window.openWeights(str(FIXTURES / "k2_textvec.keras"))
    assert c.waitForIdle()
    assert panel.isVisibleTo(window) and panel.row is not None and panel.row.classes
    assert tokens.apply_tokens(c, "Hello World", as_text=True) is None
    assert c.waitForIdle()
    ref = np.load(FIXTURES / "k2_textvec.expected.npz")
    np.testing.assert_allclose(panel.row.y, ref["y"], atol=1e-5)
    shown = panel.image.image  # (classes, steps): what the row draws is the head's y
    np.testing.assert_allclose(shown, panel.row.y.T)
    ticks = panel.plot.getAxis("bottom")._tickLevels[0]
    assert ticks[0][1].startswith("h\n")  # the character read, then the top class
    assert "not one" in tokens.apply_tokens(c, "1 x", as_text=False)
    # the Text tab reads the text and the head's guesses
    text = window.panels["textPanel"]
    window.showPanel("textPanel")
    qtbot.waitUntil(lambda: text.textFrame() is not None)
    tf = text.textFrame()
    assert "".join(tf.chars) == "hello world" and tf.guess is not None


def test_a_file_without_a_head_hides_the_row_and_the_token_actions(window):
    c = window.controller
    assert window.openWeights(str(FIXTURES.parent / "torch_gru.npz"))
    assert c.waitForIdle()
    assert window.panels["outputPanel"].row is None
    assert not window.action("file.tokens").isEnabled()
    assert window.openWeights(str(FIXTURES / "torch_char.state.npz"))
    assert c.waitForIdle()
    assert window.action("file.tokens").isEnabled()
    row = window.panels["outputPanel"].row
    assert row is not None and row.head == "fc"


def test_a_session_keeps_the_embedding_head_and_vocabulary(window, tmp_path, qtbot):
    import json

    from rnnviz.core.session import SCHEMA
    from rnnviz.engine.errors import InputError
    from rnnviz.io.session import load_session
    from rnnviz.ui import tokens

    c = window.controller
    assert window.openWeights(str(FIXTURES / "k2_textvec.keras"))
    assert c.waitForIdle()
    assert tokens.apply_tokens(c, "Hello World", as_text=True) is None
    assert c.waitForIdle()
    panel = window.panels["outputPanel"]
    y = panel.row.y.copy()
    path = tmp_path / "whole.rnnviz"
    assert window.session.saveAs(str(path))
    data = load_session(path, SCHEMA)
    w = c.app.whole
    np.testing.assert_array_equal(data.whole.embedding.weight, w.embedding.weight)
    np.testing.assert_array_equal(data.whole.head.W_hy, w.head.W_hy)
    assert data.whole.head.activation == w.head.activation
    assert data.whole.vocab.tokens == w.vocab.tokens and data.whole.vocab.oov == w.vocab.oov
    # a plain model in between, then the session: the Output row is the head's again
    assert window.openWeights(str(FIXTURES.parent / "torch_gru.npz"))
    assert c.waitForIdle() and panel.row is None
    assert window.session.open(str(path))
    assert c.waitForIdle()
    qtbot.waitUntil(lambda: panel.row is not None)
    np.testing.assert_allclose(panel.row.y, y, atol=1e-12)
    assert c.settings.text == "hello world"
    # a head that does not fit the recurrent layer is one line naming the field
    doc = json.loads(path.read_text())
    doc["model"]["whole"]["head"]["W_hy"] = [row[:-1] for row in doc["model"]["whole"]["head"]["W_hy"]]
    bad = tmp_path / "bad.rnnviz"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="model.whole.head.W_hy rows have") as info:
        load_session(bad, SCHEMA)
    assert "\n" not in str(info.value)


def test_opening_a_plain_model_after_a_character_model_drops_its_text(window):
    from rnnviz.ui import tokens

    c = window.controller
    assert window.openWeights(str(FIXTURES / "k2_textvec.keras"))
    assert c.waitForIdle()
    assert tokens.apply_tokens(c, "Hello World", as_text=True) is None
    assert c.waitForIdle() and c.settings.text == "hello world"
    assert window.openWeights(str(FIXTURES.parent / "torch_gru.npz"))
    assert c.waitForIdle()
    assert c.settings.text == "" and c.frame.symbols is None
