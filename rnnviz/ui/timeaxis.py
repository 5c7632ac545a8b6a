"""Time axes that read text: with the run's characters set, a step axis labels each step with
the character read there ("h", "e", "l", …), or every k-th step with its number and character
when they do not all fit ("40 e"). The labels come from :func:`rnnviz.core.text.time_ticks`."""

from __future__ import annotations

import math

from PySide6 import QtGui

from ..core import text as TX


class SymbolTicks:
    """Mix in before ``pg.AxisItem`` (a bottom axis of steps t = 1 … T). A subclass puts its
    own ticks for plain steps in ``plainTickValues`` and ``plainTickStrings``."""

    symbols: tuple | None = None

    def setSymbols(self, syms: tuple | None) -> None:
        """The character of each step (None: plain step numbers)."""
        syms = tuple(syms) if syms else None
        if syms != self.symbols:
            self.symbols = syms
            self.picture = None  # pyqtgraph's cached drawing of the axis
            self.update()

    def tickValues(self, minVal, maxVal, size):
        if not self.symbols:
            return self.plainTickValues(minVal, maxVal, size)
        fm = QtGui.QFontMetricsF(self.style.get("tickFont") or QtGui.QFont())
        first, last = max(1, math.ceil(minVal)), min(len(self.symbols), math.floor(maxVal))
        n = last - first + 1
        room = n if n * (fm.horizontalAdvance("M") + 3) <= size else int(size // (fm.horizontalAdvance("0000 M") + 10))
        self._symbolLabels = dict(TX.time_ticks(self.symbols, first, last, max(room, 1)))
        return [(1.0, [float(t) for t in self._symbolLabels])]

    def tickStrings(self, values, scale, spacing):
        if not self.symbols:
            return self.plainTickStrings(values, scale, spacing)
        labels = getattr(self, "_symbolLabels", {})
        return [labels.get(int(round(v)), "") for v in values]

    def plainTickValues(self, minVal, maxVal, size):
        return super().tickValues(minVal, maxVal, size)

    def plainTickStrings(self, values, scale, spacing):
        return super().tickStrings(values, scale, spacing)
