"""The panel registry: every view of the main window, declared once.

A panel is a QWidget that also derives from :class:`Panel` (it takes the theme it is handed)
and is registered with one :class:`PanelSpec`. The main window builds its layout from the
registry; export (PNG/SVG of any panel), presenter mode (fonts, hiding the side controls)
and themes pick up every registered panel with no further edits. Adding a panel: write its
module (a QWidget deriving from :class:`Panel`), then add its one :class:`PanelSpec` to
:func:`_builtin` — or, from code that runs before the window is built (a plug-in, a test),
call :func:`register_panel`. No other file needs an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6 import QtCore, QtWidgets

from .. import theme as _theme

#: Where a panel goes: the scrolled column on the left, the two view columns, the strip below,
#: and the Train mode's page (rnnviz.ui.training).
SLOTS = ("side", "left", "right", "bottom", "train")


class Panel:
    """What the window asks of every panel (mix in before the Qt base class).

    ``look`` is the theme the panel was last handed; until then the light one. Panels read
    colours and sizes from ``self.look`` only, never from module globals.
    """

    look: _theme.Theme = _theme.LIGHT

    def setTheme(self, look: _theme.Theme) -> None:
        """Restyle for ``look``: rebuild what depends on colours, maps and font sizes."""
        self.look = look

    def settle(self) -> None:
        """Finish any throttled redraw now (export paints the panel right after)."""

    def isRelevant(self) -> bool:
        """False while the panel has nothing to show for the current run: the window then
        hides its tab (the reading view while the input is not text)."""
        return True

    @staticmethod
    def pointerHeld() -> bool:
        """A mouse button is down: a slider (or a plot) is being dragged, and a panel may hold
        or throttle what the drag changes at every tick."""
        return QtWidgets.QApplication.mouseButtons() != QtCore.Qt.MouseButton.NoButton

    def isShowingMessage(self) -> bool:
        """True while the panel shows a note instead of its plots (presenter mode then leaves
        its share of the column alone)."""
        return False


@dataclass(frozen=True)
class PanelSpec:
    """One registered panel.

    ``id`` names it everywhere (``window.panels[id]``, File ▸ Export, tests); ``title`` is
    its name in menus; ``factory(controller)`` builds the widget; ``slot`` (one of
    :data:`SLOTS`) and ``order`` place it, ``stretch`` is its share of its column;
    ``export`` is the file-name stem of its pictures (None: not offered in File ▸ Export);
    ``presenter_hide`` hides it in presenter mode; ``presenter_share`` is the share of its
    column it takes in presenter mode (None: unchanged). Panels of one slot that give the same
    ``tab`` share one tab widget, at the place of the first of them (by ``order``), with
    ``title`` on their tabs; only the shown tab paints. ``short_title`` is the tab's name when
    the whole names do not fit the bar (presenter mode at 1024×768).
    """

    id: str
    title: str
    factory: Callable[[object], object]
    slot: str
    order: int = 0
    stretch: int = 1
    export: str | None = None
    presenter_hide: bool = False
    presenter_share: float | None = None
    tab: str | None = None
    short_title: str | None = None

    def __post_init__(self):
        if self.slot not in SLOTS:
            raise ValueError(f"panel {self.id!r}: unknown slot {self.slot!r} (one of {', '.join(SLOTS)})")


_BUILTIN: dict[str, PanelSpec] = {}  # rnnviz's own panels, filled on first use
_REGISTRY: dict[str, PanelSpec] = {}  # panels registered by their modules (or by tests)


def register_panel(spec: PanelSpec) -> PanelSpec:
    """Add ``spec`` (a built-in panel of the same id is replaced); returns it."""
    _REGISTRY[spec.id] = spec
    return spec


def unregister_panel(panel_id: str) -> None:
    _REGISTRY.pop(panel_id, None)


def panel_specs(slot: str | None = None) -> list[PanelSpec]:
    """The registered panels sorted by slot and order (built-in ones first on a tie); only
    those of ``slot`` when given."""
    specs = list({**_builtin(), **_REGISTRY}.values())
    if slot is not None:
        specs = [s for s in specs if s.slot == slot]
    return sorted(specs, key=lambda s: (SLOTS.index(s.slot), s.order))


def panel_spec(panel_id: str) -> PanelSpec:
    return _REGISTRY.get(panel_id) or _builtin()[panel_id]


def exportable_panels() -> list[PanelSpec]:
    """Panels offered in File ▸ Export, in menu order."""
    return [s for s in panel_specs() if s.export]


def _factory(module: str, name: str) -> Callable[[object], object]:
    def build(controller):
        import importlib

        return getattr(importlib.import_module(module, __package__), name)(controller)

    return build


def _builtin() -> dict[str, PanelSpec]:
    # Until the panel modules move into this package (the integrator's step), their
    # registrations live here; built lazily, because those modules import Panel from here.
    if not _BUILTIN:
        for spec in (
            PanelSpec("controls", "Controls", _factory("..controls", "ControlPanel"), "side", presenter_hide=True),
            PanelSpec("statePanel", "Hidden state panel", _factory("..heatmaps", "StatePanel"), "left", 0, 5,
                      export="state", short_title="State"),
            # the output layer's row under the hidden state, shown only for a model trained in the Train mode
            PanelSpec("outputPanel", "Output row", _factory("..training", "OutputPanel"), "left", 0, 2,
                      export="output"),
            # four gate rows with 1.5× axis numbers need more height than the two state heatmaps
            PanelSpec("gatePanel", "Gates panel", _factory("..heatmaps", "GatePanel"), "left", 1, 4,
                      export="gates", presenter_share=0.55),
            # the top of the right column: x₁'s fading, and the views that share its place as tabs
            PanelSpec("fadingPanel", "Fading of x₁", _factory("..fading", "FadingPanel"), "right", 0, 5,
                      export="fading", tab="views", short_title="Fading"),
            PanelSpec("stateSpacePanel", "State space", _factory("..statespace", "StateSpacePanel"), "right", 0, 5,
                      export="statespace", tab="views", short_title="States"),
            PanelSpec("diagramPanel", "Cell diagram", _factory("..diagram", "DiagramPanel"), "right", 0, 5,
                      export="diagram", tab="views", short_title="Diagram"),
            # the text a character model reads, coloured by one unit (LSTMVis's reading view)
            PanelSpec("textPanel", "Text", _factory("..textview", "TextPanel"), "right", 0, 5,
                      export="text", tab="views"),
            # in presenter mode half the column: equations at 1.5× need the height (issue 8)
            PanelSpec("equationPanel", "Equations panel", _factory("..equations", "EquationPanel"), "right", 1, 4,
                      export="equations", presenter_share=0.42),
            PanelSpec("transport", "Transport bar", _factory("..transport", "TransportBar"), "bottom"),
            # the Train mode: its controls, then the plots in a 2 × 2 grid (by order)
            PanelSpec("trainControls", "Train controls", _factory("..training", "TrainControls"), "train", 0),
            PanelSpec("lossPanel", "Training loss", _factory("..training", "LossPanel"), "train", 1,
                      export="train-loss"),
            PanelSpec("contribPanel", "Contributions ‖∂L_T/∂x_k‖", _factory("..training", "ContribPanel"), "train",
                      2, export="train-contributions"),
            PanelSpec("gradientPanel", "Gradient ‖∂L/∂h_t‖ per update", _factory("..training", "GradientPanel"),
                      "train", 3, export="train-gradients"),
            PanelSpec("weightsPanel", "Trained weights", _factory("..training", "WeightsPanel"), "train", 4,
                      export="train-weights"),
        ):
            _BUILTIN[spec.id] = spec
    return _BUILTIN


__all__ = ["Panel", "PanelSpec", "SLOTS", "exportable_panels", "panel_spec", "panel_specs", "register_panel",
           "unregister_panel"]
