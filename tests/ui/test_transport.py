"""The transport bar: buttons, scrubber, speed, "All steps" and the busy bar."""

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from rnnviz.ui.controller import SPEED_RANGE
from rnnviz.ui.transport import TransportBar

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def bar(qtbot, controller):
    b = TransportBar(controller)
    qtbot.addWidget(b)
    b.resize(1600, b.sizeHint().height())
    b.show()
    qtbot.waitExposed(b)
    return b


def test_step_buttons(bar, controller):
    assert controller.step == 0 and bar.stepLabel.text() == "t = 1 / 30"
    QTest.mouseClick(bar.forwardButton, LEFT)
    QTest.mouseClick(bar.forwardButton, LEFT)
    assert controller.step == 2 and bar.stepLabel.text() == "t = 3 / 30"
    QTest.mouseClick(bar.backButton, LEFT)
    assert controller.step == 1
    QTest.mouseClick(bar.endButton, LEFT)
    assert controller.step == 29 and bar.scrubber.value() == 30 and bar.stepLabel.text() == "t = 30 / 30"
    QTest.mouseClick(bar.forwardButton, LEFT)  # clamped at the end
    assert controller.step == 29
    QTest.mouseClick(bar.startButton, LEFT)
    assert controller.step == 0 and bar.scrubber.value() == 1


def test_play_and_pause(bar, controller, qtbot):
    controller.setSpeed(30)
    QTest.mouseClick(bar.playButton, LEFT)
    assert controller.isPlaying()
    assert "Pause" in bar.playButton.toolTip()
    with qtbot.waitSignal(controller.stepChanged, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: bar.scrubber.value() >= 3, timeout=60_000)
    QTest.mouseClick(bar.playButton, LEFT)
    assert not controller.isPlaying()
    assert "Play" in bar.playButton.toolTip()
    assert bar.scrubber.value() == controller.step + 1
    # the controller stopping by itself at the end shows up too
    controller.setStep(28)
    controller.setPlaying(True)
    qtbot.waitUntil(lambda: not controller.isPlaying(), timeout=60_000)
    assert "Play" in bar.playButton.toolTip() and bar.stepLabel.text() == "t = 30 / 30"


def test_scrubber_and_step_both_ways_without_echo(bar, controller, monkeypatch):
    calls = []
    orig = controller.setStep
    monkeypatch.setattr(controller, "setStep", lambda t: (calls.append(t), orig(t)))
    bar.scrubber.setValue(12)  # what a drag does
    assert controller.step == 11 and calls == [11]
    assert bar.stepLabel.text() == "t = 12 / 30"
    calls.clear()
    controller.stepForward()
    assert bar.scrubber.value() == 13 and bar.stepLabel.text() == "t = 13 / 30"
    assert calls == [12]  # only stepForward's own call, nothing echoed from the scrubber
    calls.clear()
    controller.update(T=500)
    assert controller.waitForIdle()
    assert bar.scrubber.maximum() == 500 and calls == []
    bar.scrubber.setValue(500)
    assert controller.step == 499 and bar.stepLabel.text() == "t = 500 / 500"
    controller.update(T=10)
    assert controller.waitForIdle()
    assert bar.scrubber.maximum() == 10 and bar.scrubber.value() == 10 and controller.step == 9
    assert bar.stepLabel.text() == "t = 10 / 10"


def test_speed_box_clamps_and_follows_the_controller(bar, controller):
    assert bar.speedBox.text() == "4 steps/s"
    controller.setSpeed(100)
    assert controller.speed == SPEED_RANGE[1] and bar.speedBox.value() == SPEED_RANGE[1]
    bar.speedBox.setValue(0.1)  # clamped by the box and by the controller
    assert controller.speed == SPEED_RANGE[0] and bar.speedBox.text() == "0.5 steps/s"
    bar.speedBox.stepBy(1)  # the up arrow: the next preset
    assert controller.speed == 1.0 and bar.speedBox.value() == 1.0
    bar.speedBox.stepBy(-1)
    assert controller.speed == 0.5
    le = bar.speedBox.lineEdit()
    le.selectAll()
    QTest.keyClicks(le, "12")
    QTest.keyClick(le, QtCore.Qt.Key.Key_Return)
    assert controller.speed == 12.0 and bar.speedBox.text() == "12 steps/s"
    controller.faster()
    assert bar.speedBox.value() == 15.0


def test_all_steps_toggle(bar, controller):
    QTest.mouseClick(bar.allStepsButton, LEFT)
    assert controller.revealAll and bar.allStepsButton.isChecked()
    controller.setRevealAll(False)
    assert not bar.allStepsButton.isChecked()
    controller.setRevealAll(True)
    assert bar.allStepsButton.isChecked()


def test_busy_bar_shows_only_while_computing(bar, controller, qtbot):
    assert not bar.busyBar.isVisibleTo(bar)
    controller.progressChanged.emit(0.25)
    controller.busyChanged.emit(True)
    assert bar.busyBar.isVisibleTo(bar) and bar.busyBar.value() == 0
    controller.progressChanged.emit(0.25)
    assert bar.busyBar.value() == 250
    controller.busyChanged.emit(False)
    assert not bar.busyBar.isVisibleTo(bar)
    # a real background run: an LSTM past the controller's synchronous limit
    with qtbot.waitSignal(controller.busyChanged, check_params_cb=lambda b: b, timeout=30_000):
        controller.update(cell="lstm", hidden_size=128, T=1200)
        controller.recompute()
    assert bar.busyBar.isVisibleTo(bar)
    assert controller.waitForIdle(300_000)
    assert not bar.busyBar.isVisibleTo(bar)
    assert bar.scrubber.maximum() == 1200


def test_tooltips_name_the_keys_and_no_shortcuts_are_installed(bar):
    tips = {b: b.toolTip() for b in (bar.startButton, bar.backButton, bar.playButton, bar.forwardButton,
                                     bar.endButton)}
    assert "Home" in tips[bar.startButton] and "End" in tips[bar.endButton]
    assert "←" in tips[bar.backButton] and "→" in tips[bar.forwardButton] and "Space" in tips[bar.playButton]
    assert "+" in bar.speedBox.toolTip() and "−" in bar.speedBox.toolTip()
    assert bar.findChildren(QtGui.QShortcut) == []
    assert all(a.shortcut().isEmpty() for a in bar.findChildren(QtGui.QAction))
    # the buttons never take focus, so Space stays with the window's play/pause shortcut
    for b in tips:
        assert b.focusPolicy() == QtCore.Qt.FocusPolicy.NoFocus
    assert bar.scrubber.focusPolicy() == QtCore.Qt.FocusPolicy.NoFocus
    assert isinstance(bar.busyBar, QtWidgets.QProgressBar)
