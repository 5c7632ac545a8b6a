"""The Output row of a loaded model's head (``core.wholemodel.head_row``), drawn on the Output
row panel's items: each class's probability per step (rows = classes), the top class and its
probability under each step with the token it read, or the head's values as a curve."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from ..core.text import visible
from . import theme

#: Steps and classes up to which every one gets its label.
MAX_LABELLED_STEPS = 40
MAX_LABELLED_CLASSES = 5  # more do not fit the row's height: the top class is named under each step


def _token(t: str) -> str:
    return "".join(visible(c) for c in t) if len(t) == 1 else (t if len(t) <= 7 else t[:6] + "…")


def draw_head(panel, row) -> None:
    """Draw ``row`` on ``panel`` (an OutputPanel: its plot, curve, image and targets items)."""
    T, O = row.y.shape
    t = np.arange(1, T + 1, dtype=np.float64)
    plot, bottom = panel.plot, panel.plot.getAxis("bottom")
    panel.targets.setData([], [])
    ins = row.inputs if row.inputs is not None else ("",) * T
    labelled = T <= MAX_LABELLED_STEPS
    last = " — the model's output is the last step's" if row.last_only else ""
    if row.classes or O > 1:
        panel.curve.setData([], [])
        panel.image.setImage(np.ascontiguousarray(row.y.T), levels=(0.0, 1.0), autoLevels=False)
        panel.image.setRect(QtCore.QRectF(0.5, -0.5, float(T), float(O)))
        panel.image.show()
        labels = row.labels or tuple(str(k) for k in range(O))
        plot.getAxis("left").setTicks([[(k, _token(labels[k])) for k in range(O)]] if O <= MAX_LABELLED_CLASSES
                                      else None)
        best = np.argmax(row.y, axis=1)
        if labelled:
            bottom.setTicks([[(k + 1, f"{_token(ins[k])}\n{_token(labels[int(best[k])])} {row.y[k, best[k]]:.2f}")
                              for k in range(T)], []])
        else:
            bottom.setTicks(None)
        plot.setYRange(-0.5, O - 0.5, padding=0)
        what = "p(class)" if row.classes else "each output (sigmoid)"
        title = f"Output of {row.head!r}: {what} per step{last}"
        left = "class"
    else:
        panel.image.hide()
        plot.getAxis("left").setTicks(None)
        panel.curve.setData(t, row.y[:, 0].astype(np.float64))
        bottom.setTicks([[(k + 1, _token(ins[k])) for k in range(T)], []] if labelled and row.inputs else None)
        if row.bounded:
            plot.setYRange(0, 1.05, padding=0)
        else:
            plot.enableAutoRange(axis="y")
        title = f"Output of {row.head!r}: y_t{last}"
        left = "y_t"
    plot.setXRange(0.5, T + 0.5, padding=0)
    panel.cursor.setValue(panel.controller.step + 1)
    bottom_label = "step t (the token read, the top class and its p)" if labelled and row.classes else "step t"
    theme.style_plot(plot, panel.look, title, left, bottom_label)
