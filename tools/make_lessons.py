"""Generate the built-in lessons, resources/lessons/*.rnnviz, from the definitions below.

    PYTHONPATH=. python tools/make_lessons.py            # rewrite the files
    PYTHONPATH=. python tools/make_lessons.py --check    # exit 1 if a committed file differs

tests/ui/test_lessons.py checks that the committed files equal what this script generates;
tests/io/test_lesson_catalogue.py that each lesson really shows its point (with the engine's numbers, not by eye).

Lesson text markup (see rnnviz.ui.lessons.lesson_html): ``h_t`` and ``h_{t−1}`` are subscripts,
``10^{-3}`` a superscript, ``**bold**`` bold; a blank line starts a new paragraph.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "lessons"

# Each lesson: the settings that differ from the defaults (or "seed-example" for the seed
# document's network), the view (1-based step t, reveal all, selected unit, speed, optionally the
# panel to bring to the front) and the text.
LESSONS = {
    "seed-example": dict(
        title="The seed example, step by step",
        summary="The seed document's RNN (input 1, hidden 2) on 0.1, 0.5, 0.9 — every number shown.",
        settings="seed-example",
        view=dict(t=1, reveal_all=False, unit=0, speed=1.0, panel="equationPanel"),
        text=(
            "This is the network from the seed document: one input, two hidden units, weights from "
            "np.random.seed(0), and the inputs 0.1, 0.5, 0.9. At every step it computes "
            "**h_t = tanh(W_{ih} x_t + W_{hh} h_{t−1} + b)** — the equation panel shows each number going "
            "in and the new state coming out.\n\n"
            "Press → to take the next step: the state h_{t−1} just computed feeds the next step. "
            "That loop is the network's memory. Click a unit in the heatmap to see its equation."
        ),
    ),
    "vanishing-memory": dict(
        title="Vanishing memory",
        summary="A tanh RNN forgets an impulse at t = 1 geometrically — a straight line on a log scale.",
        settings=dict(cell="rnn_tanh", hidden_size=8, T=30, signal="impulse"),
        view=dict(t=30, reveal_all=False, unit=0, speed=4.0),
        text=(
            "A tanh RNN reads one impulse x_1 = 1 at t = 1, then zeros. The top-right curve shows how "
            "strongly x_1 still moves the state h_t: every step multiplies it by at most about "
            "ρ(W_{hh}) = 0.75 (times tanh′ ≤ 1), so it shrinks geometrically — a straight line down on the "
            "log scale. After 20 steps less than 0.1 % is left.\n\n"
            "Drag **Recurrent weights ×**: a smaller ρ forgets faster; near ρ = 1 the memory lasts much "
            "longer."
        ),
    ),
    "exploding": dict(
        title="Exploding values",
        summary="A ReLU RNN with ρ(W_hh) = 2.25 grows its state at every step: 10⁹ by t = 60.",
        settings=dict(cell="rnn_relu", hidden_size=8, T=60, recurrent_scale=3.0, signal="impulse"),
        view=dict(t=60, reveal_all=False, unit=2, speed=4.0),
        text=(
            "The same impulse, but a ReLU RNN whose recurrent weights are scaled ×3, so "
            "ρ(W_{hh}) = 2.25 > 1. ReLU does not squash: the state is multiplied again at every step and "
            "by t = 60 it passes 10^{9} — see the colour bar and the equation panel.\n\n"
            "The x_1 curve climbs instead of fading: ∂h_t/∂x_1 is a product of one Jacobian per step, and "
            "the same product makes gradients explode in training. Pull **Recurrent weights ×** below 1.3 "
            "(ρ < 1) and it calms down."
        ),
    ),
    "lstm-remembers": dict(
        title="The LSTM remembers",
        summary="A forget-gate bias of +5 keeps f ≈ 1, and x₁ is still there after 150 steps.",
        settings=dict(cell="lstm", hidden_size=12, T=150, forget_bias=5.0, signal="impulse"),
        view=dict(t=150, reveal_all=False, unit=0, speed=8.0, panel="gatePanel"),  # "the f rows"
        text=(
            "An LSTM whose forget-gate biases are raised by +5, so the forget gate f stays near 1 (bright "
            "yellow in the f rows of the gate map). The cell state follows **c_t = f ⊙ c_{t−1} + i ⊙ g**: "
            "with f ≈ 1, whatever x_1 wrote into c is carried on, step after step.\n\n"
            "After 100 steps x_1 still has more than half of its first-step influence; a tanh RNN of the "
            "same size keeps less than 10^{-20}. Set the forget bias back to 0 and watch the memory go."
        ),
    ),
    "gru-update-gate": dict(
        title="The GRU update gate",
        summary="z opens for the input at t = 1, then z ≈ 1 copies the state forward unchanged.",
        settings=dict(cell="gru", hidden_size=2, T=50, update_bias=5.0, input_scale=3.0, amplitude=3.0,
                      signal="impulse"),
        view=dict(t=50, reveal_all=False, unit=1, speed=4.0),
        text=(
            "A GRU with two units whose update-gate biases are raised by +5. Its update is "
            "**h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}**. At t = 1 the impulse x_1 = 3 pulls z down to about "
            "0.3: the gate opens and the GRU writes n into h. From t = 2 on z ≈ 0.99 (yellow), so the new "
            "state is almost exactly the old one — the two red stripes run on unchanged.\n\n"
            "After 50 steps 70 % of x_1's influence is left. Drag the update-gate bias to 0: z stays near "
            "½ and within 10 steps less than 1 % is left."
        ),
    ),
    "the-race": dict(
        title="The race: RNN vs GRU vs LSTM",
        summary="Who still remembers x₁ after 200 steps? The gated cells, by over 30 orders of magnitude.",
        settings=dict(cell="compare", hidden_size=12, T=200, forget_bias=5.0, update_bias=5.0, signal="impulse"),
        view=dict(t=200, reveal_all=False, unit=0, speed=15.0),
        text=(
            "All three cells read the same impulse x_1 at t = 1, with the same hidden size and seed, for "
            "200 steps. The plain tanh RNN has lost x_1 after about 20 steps (below 10^{-4}); the GRU "
            "(update bias +5) and the LSTM (forget bias +5) still keep more than a tenth of it at t = 200.\n\n"
            "Gates let a network hold information over long delays. Press Space to run the race again."
        ),
    ),
    "two-fixed-points": dict(
        title="Two fixed points: how an RNN stores a bit",
        summary="A tanh RNN with ρ(W_hh) = 2 has two attractors: the sign of x₁ picks one, and h stays.",
        # W_hh = 1.25·[[1, 0.6], [0.6, 1]]: eigenvalues 2 and 0.5, so the origin is a saddle
        settings=dict(cell="rnn_tanh", hidden_size=2, T=20, signal="impulse", amplitude=1.0, single_bias=True,
                      recurrent_scale=1.25,
                      overrides=((("W_hh", 0, 0), 1.0), (("W_hh", 0, 1), 0.6), (("W_hh", 1, 0), 0.6),
                                 (("W_hh", 1, 1), 1.0), (("W_ih", 0, 0), 1.0), (("W_ih", 1, 0), 0.5),
                                 (("b_ih", 0, 0), 0.0), (("b_ih", 1, 0), 0.0))),
        view=dict(t=20, reveal_all=False, unit=0, speed=4.0, panel="stateSpacePanel"),
        text=(
            "Two units make the state h_t a point in the plane. For input 0 the arrows show one step's move "
            "from each point; the map has three fixed points h* = f(h*): two stable (●) and a saddle (◆) at the "
            "origin. The impulse x_1 = 1 pushes h off the saddle into the upper-right attractor, and it stays: "
            "one stored bit.\n\n"
            "With amplitude −1, h ends on the other attractor. Drag **Recurrent weights ×** below 0.6 "
            "(ρ(W_{hh}) < 1): the attractors merge and the bit is forgotten."
        ),
    ),
    # Lessons that train live (the Train mode): "training" holds the core.training.TrainConfig
    # fields that differ from its defaults. tests/io/test_training_lessons.py trains each one
    # and checks every number its text states.
    "learning-to-remember": dict(
        title="Learning to remember",
        summary="The adding problem: the GRU learns it in 300 updates, the tanh RNN stays at the baseline.",
        settings=dict(),
        view=dict(t=1, reveal_all=False, unit=0, speed=4.0),
        training=dict(task="adding", length=20, cell="compare", hidden_size=16, steps=300),
        text=(
            "The target is the sum of the two marked numbers among 20, so the first must be remembered "
            "for up to 19 steps; always answering 1 scores the baseline MSE 0.167 (dashed). "
            "Press **Train**: after 300 updates the GRU's test MSE is below 0.01, the tanh RNN's above "
            "0.15. The heatmap shows why: the RNN's ‖∂L/∂h_t‖ at t = 1 is below 10^{-4} of its value at "
            "the end. With PyTorch's initialisation the LSTM is slower: on this seed it is still at the "
            "baseline. **Explore this model** steps through a test sequence with a trained cell."
        ),
    ),
    "exploding-gradients": dict(
        title="Exploding gradients and clipping",
        summary="W_hh × 3: unclipped, the gradient explodes and the loss becomes inf; clipped, it trains on.",
        settings=dict(),
        view=dict(t=1, reveal_all=False, unit=0, speed=4.0),
        training=dict(task="adding", length=20, cell="rnn_tanh", hidden_size=16, recurrent_scale=3.0,
                      optimizer="sgd", lr=0.1, clip=0.0, steps=150),
        text=(
            "A tanh RNN on the adding problem with its recurrent weights tripled at the start, trained by "
            "plain SGD (learning rate 0.1) with clipping **off**. "
            "Press **Train**: the gradient's norm passes 10^{4} and within about 100 updates one step "
            "throws the weights so far that the loss becomes infinite, and training stops. "
            "Now set **Clip norm** to 1, press **Reset** and **Train** again: each step is scaled down to "
            "norm 1, all 150 updates run and the test MSE stays near the baseline 0.167. "
            "Clipping stops the explosion; it does not teach a tanh RNN to remember."
        ),
    ),
    "char-rnn": dict(
        title="A character-level RNN",
        summary="A tanh RNN reads a paragraph one letter at a time and learns to write it back.",
        settings=dict(),
        view=dict(t=1, reveal_all=False, unit=0, speed=4.0),
        training=dict(task="text", length=25, cell="rnn_tanh", hidden_size=32, steps=300),
        text=(
            "The network reads a paragraph one character at a time (26 symbols, one-hot) and predicts the "
            "next one; guessing scores 1 in 26, about 4 %. "
            "Press **Train**: after 300 updates more than 85 % of its next characters are right — the test "
            "windows come from the same paragraph, so it learns this text by heart, not English. "
            "Press **Sample text** to let it write, one character at a time. "
            "**Explore this model** then steps through a test window: the heatmap shows the hidden state "
            "after each character."
        ),
    ),
    "what-does-a-unit-track": dict(
        title="What does a unit track?",
        summary="Find the hidden unit of a character RNN that fires at every full stop.",
        settings=dict(),
        view=dict(t=1, reveal_all=False, unit=0, speed=4.0),
        training=dict(task="text", length=25, cell="rnn_tanh", hidden_size=32, steps=300),
        text=(
            "Nobody tells the network's 32 units what to stand for; training decides. "
            "Press **Train**, then **Explore this model**, open the **Text** tab and press **Read a text…** "
            "and OK: it reads the whole paragraph, each character on the colour of one unit. "
            "Drag over a full stop, tick **every occurrence**: the top unit is above 0.8 at all five full "
            "stops, below 0 on average elsewhere, and higher at each of them than at 80 % of all other "
            "characters — a full-stop detector. "
            "A space or an e gives no unit that clean: click a unit in the list to see why."
        ),
    ),
    "inside-lstm": dict(
        title="Inside the LSTM cell",
        summary="The LSTM's valves at work: f keeps the memory, i writes to it, o reads it out.",
        settings=dict(cell="lstm", hidden_size=4, T=20, forget_bias=3.0, signal="impulse"),
        view=dict(t=5, reveal_all=False, unit=3, speed=2.0, panel="diagramPanel"),
        text=(
            "The LSTM's diagram at t = 5, unit 3. Along the top, the forget valve is open (f = 0.98): "
            "the ⊙ keeps f·c_{t−1} = 1.39 of c_{t−1} = 1.42; the input valve (i = 0.65) adds i·g = 0.41, "
            "so **c_t = 1.80**.\n\n"
            "The output valve (o = 0.55) reads it out: **h_t = o ⊙ tanh(c_t) = 0.52**, within ±1 while c "
            "grows past 1. Hover a node for its formula; drag the forget bias down to close the valve."
        ),
    ),
}


def _application():
    from PySide6 import QtCore

    return QtCore.QCoreApplication.instance() or QtCore.QCoreApplication(sys.argv[:1])


def lesson_data(name: str):
    """The SessionData of lesson ``name``, built through a real Controller."""
    from rnnviz.core import model as M
    from rnnviz.ui.controller import Controller
    from rnnviz.core.session import Lesson
    from rnnviz.ui.session import capture

    _application()
    spec = LESSONS[name]
    c = Controller()
    if "training" in spec:
        from rnnviz.core.training import TrainConfig, TrainingState

        c.restore(M.Settings(**spec["settings"]))
        data = capture(c, Lesson(spec["title"], spec["text"], spec["summary"]))
        return data.replace(training=TrainingState(TrainConfig(**spec["training"]).check(), mode="train"))
    if spec["settings"] == "seed-example":
        c.useSeedExample()
    else:
        c.restore(M.Settings(**spec["settings"]))
    view = spec["view"]
    c.setRevealAll(view["reveal_all"])
    c.setStep(view["t"] - 1)
    c.setSelectedUnit(view["unit"])
    c.setSpeed(view["speed"])
    assert c.step == view["t"] - 1 and c.speed == view["speed"]
    # view.panel: the tab the lesson is about (None: whatever the window shows)
    return capture(c, Lesson(spec["title"], spec["text"], spec["summary"])).replace(panel=view.get("panel"))


def generate() -> dict[str, bytes]:
    """name -> the exact bytes of resources/lessons/NAME.rnnviz."""
    from rnnviz.core.session import dumps_session

    return {name: dumps_session(lesson_data(name)) for name in LESSONS}


def main(argv=None) -> int:
    from rnnviz.io.atomic import atomic_write

    argv = sys.argv[1:] if argv is None else argv
    files = generate()
    if "--check" in argv:
        bad = [n for n, blob in files.items() if not (OUT / f"{n}.rnnviz").is_file()
               or (OUT / f"{n}.rnnviz").read_bytes() != blob]
        for n in bad:
            print(f"{n}.rnnviz differs from what make_lessons.py generates", file=sys.stderr)
        return 1 if bad else 0
    os.makedirs(OUT, exist_ok=True)
    for name, blob in files.items():
        def write(tmp, blob=blob):
            with open(tmp, "wb") as fh:
                fh.write(blob)

        atomic_write(OUT / f"{name}.rnnviz", write, suffix=".rnnviz")
        print(f"wrote {OUT / name}.rnnviz ({len(blob):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
