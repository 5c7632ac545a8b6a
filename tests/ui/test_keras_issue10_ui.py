"""Issue 10 in the window: a Keras stack's layer sizes, and what loading assumed."""

from pathlib import Path

import pytest


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def window(shown_window):
    return shown_window


def test_sidebar_sizes_follow_the_traced_layer_and_the_banner_says_what_was_assumed(window):
    """keras_stacked is LSTM(3 → 5) then GRU(5 → 4): layer 2 reads 5 features, not the model's 3."""
    c, panel = window.controller, window.controls
    assert window.openWeights(str(FIXTURES / "keras_stacked.keras"))
    assert c.waitForIdle()
    assert (panel.hiddenSpin.value(), panel.inputSpin.value()) == (4, 5)
    c.setLayer(0)
    assert c.waitForIdle()
    assert (panel.hiddenSpin.value(), panel.inputSpin.value()) == (5, 3)
    # What loading assumed is said in the banner (one window for both checks: windows are slow).
    assert window.openWeights(str(FIXTURES / "keras_issue10" / "k3_lstm_relu.weights.h5"))
    assert window.controller.waitForIdle()
    text = window.banner.text()
    assert window.banner.isVisibleTo(window) and "assumed activation='tanh'" in text
    assert "exploded" not in text


def test_parallel_branches_ask_which_layer_and_options_can_be_given(window):
    c = window.controller
    assert not window.openWeights(str(FIXTURES / "keras_issue10" / "k3_branches.keras"))
    box = window.layerChooser
    assert box.isVisible() and box.comboBoxItems() == ["branch_a", "branch_b"]
    box.setTextValue("branch_b")
    box.accept()
    assert c.waitForIdle()
    assert c.loaded.hidden_size == 4 and c.loadedName == "k3_branches.keras"

    # File ▸ Open weights with options… (the same window: windows are slow to make)
    from rnnviz.ui import load_options

    dialog = load_options.open_with_options(window, str(FIXTURES / "keras_issue10" / "k3_lstm_relu.weights.h5"))
    assert dialog.isVisible()
    dialog.activation.setCurrentIndex(dialog.activation.findData("relu"))
    dialog.goBackwards.setChecked(True)
    assert dialog.options() == {"activation": "relu", "go_backwards": True}
    dialog.accept()
    assert c.waitForIdle()
    assert c.loaded.nonlinearity == "relu" and c.loaded.go_backwards
    assert "assumed recurrent_activation='sigmoid'" in window.banner.text()
