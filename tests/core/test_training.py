"""The Train mode's session, without Qt: histories, live settings, the worker, export."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rnnviz.core import training as TR
from rnnviz.core.training import TrainConfig, TrainSession
from rnnviz.engine.train import forward, model_from_state

SMALL = dict(length=8, hidden_size=4, batch=8, test_batch=16, test_every=2)


def session(**changes) -> TrainSession:
    return TrainSession(TrainConfig(**{**SMALL, **changes}))


def wait_for(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_histories_grow_one_row_per_update():
    s = session()
    assert s.snapshot().runs[0].test_updates.tolist() == [0]  # the untrained model is tested
    assert s.step(5) == 5
    snap = s.snapshot()
    (r,) = snap.runs
    assert snap.updates == 5
    assert r.updates.tolist() == [0, 1, 2, 3, 4]
    assert r.train_loss.shape == r.grad_norm.shape == (5,)
    assert r.test_updates.tolist() == [0, 2, 4]
    assert r.dh_rows.shape == (5, 8) and r.dh_updates.tolist() == [0, 1, 2, 3, 4]
    assert r.contrib.shape == (8,) and np.all(r.contrib >= 0)
    assert r.train_acc is None and r.test_acc is None  # adding: MSE, no classes
    assert not r.train_loss.flags.writeable
    change = r.change()
    assert set(change) == set(r.weights()) and any(np.abs(d).max() > 0 for d in change.values())


def test_a_snapshot_never_changes_after_it_is_taken():
    s = session()
    s.step(3)
    before = s.snapshot().runs[0]
    losses, rows = before.train_loss.copy(), before.dh_rows.copy()
    s.step(260)  # the tables grow (and are reallocated) behind it
    assert np.array_equal(before.train_loss, losses) and np.array_equal(before.dh_rows, rows)


def test_three_cells_train_on_the_same_batches_as_one():
    both = session(cell="compare")
    both.step(4)
    one = session(cell="gru")
    one.step(4)
    runs = {r.key: r for r in both.snapshot().runs}
    assert list(runs) == ["rnn_tanh", "gru", "lstm"]
    assert np.array_equal(runs["gru"].train_loss, one.snapshot().runs[0].train_loss)
    assert np.array_equal(runs["gru"].test_loss, one.snapshot().runs[0].test_loss)


def test_the_same_seed_gives_the_same_run_and_reset_starts_over():
    a, b = session(), session()
    a.step(6)
    b.step(6)
    assert np.array_equal(a.snapshot().runs[0].train_loss, b.snapshot().runs[0].train_loss)
    first = a.snapshot().runs[0].train_loss.copy()
    a.reset()
    assert a.updates == 0 and len(a.snapshot().runs[0].train_loss) == 0
    a.step(6)
    assert np.array_equal(a.snapshot().runs[0].train_loss, first)


def test_live_settings_apply_at_the_next_update_and_others_reset():
    s = session()
    s.step(3)
    assert s.configure(lr=0.05, clip=0.0, batch=4, truncate=3) is False
    assert s.updates == 3 and s.config.lr == 0.05
    s.step(1)
    assert s.updates == 4
    assert s.configure(hidden_size=5) is True
    assert s.updates == 0 and s.snapshot().runs[0].model.rnn.hidden_size == 5
    with pytest.raises(ValueError, match="learning rate"):
        s.configure(lr=-1.0)
    assert s.config.lr == 0.05


def test_switching_optimiser_starts_its_state_afresh():
    s = session(optimizer="sgd", momentum=0.9)
    s.step(2)
    s.configure(optimizer="adam")
    s.step(2)
    assert s.updates == 4 and np.isfinite(s.snapshot().runs[0].train_loss).all()


def test_the_worker_trains_until_paused_and_leaves_a_coherent_model():
    s = session()
    s.start()
    assert s.running
    wait_for(lambda: s.updates >= 5)
    s.configure(lr=0.02)  # while running: applies at the next update
    n = s.updates
    wait_for(lambda: s.updates > n)
    s.pause()
    assert not s.running
    snap = s.snapshot()
    r = snap.runs[0]
    assert len(r.train_loss) == snap.updates
    time.sleep(0.05)
    assert s.updates == snap.updates  # nothing runs after pause
    assert s.config.lr == 0.02
    s.step()  # a paused session steps on from where it stopped
    assert s.updates == snap.updates + 1


def test_the_worker_stops_at_the_steps_limit():
    s = session(steps=7)
    s.start()
    wait_for(lambda: not s.running)
    assert s.updates == 7
    assert s.step() == 0


def test_a_diverging_run_stops_with_a_message_and_the_others_go_on(monkeypatch):
    s = session(cell="compare", optimizer="sgd", lr=10.0, clip=0.0, task="sine")
    for _ in range(200):
        if not s.step():
            break
        if any(r.error for r in s.snapshot().runs):
            break
    errors = [r.error for r in s.snapshot().runs if r.error]
    assert errors and "learning rate" in errors[0]
    assert s.snapshot().error


def test_classes_get_accuracy_and_every_step_losses_get_contributions():
    s = session(task="text", text="abcabcabcabcabcabcabc", length=6)
    s.step(TR.CONTRIB_EVERY + 1)
    r = s.snapshot().runs[0]
    assert r.test_acc is not None and r.train_acc.shape == (TR.CONTRIB_EVERY + 1,)
    assert r.contrib.shape == (6,)
    assert s.task.input_size == s.task.output_size == 3
    text = s.sample(n=5, temperature=0)
    assert len(text) == 5 and set(text) <= set("abc")


def test_recall_uses_the_length_as_T():
    s = session(task="recall", length=6)
    s.step(1)
    assert s.test_sequence()[0].shape == (6, 1)
    assert s.snapshot().runs[0].test_acc is not None


def test_the_current_input_task_predicts_the_next_value():
    s = session(task="input", series=tuple(np.sin(np.arange(40) * 0.3)))
    s.step(2)
    xs, ys, _ = s.test_sequence()
    assert np.allclose(xs[1:, 0], ys[:-1, 0])
    with pytest.raises(ValueError, match="more than"):
        s.configure(series=(1.0, 2.0))


def test_the_heatmap_keeps_a_bounded_number_of_rows(monkeypatch):
    monkeypatch.setattr(TR, "MAX_ROWS", 8)
    s = session()
    s.step(20)
    r = s.snapshot().runs[0]
    assert len(r.dh_rows) <= 8
    assert r.dh_updates[0] == 0 and np.all(np.diff(r.dh_updates) > 0)
    assert len(r.train_loss) == 20  # the curves keep every update


def test_bad_settings_are_refused_with_a_message():
    for bad, match in ((dict(task="nope"), "task"), (dict(cell="x"), "cell"), (dict(length=1), "length"),
                       (dict(clip=-1.0), "clipping"), (dict(optimizer="rms"), "optimiser")):
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad).check()


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_export_round_trips_in_pytorch_names(tmp_path, suffix):
    s = session(cell="lstm")
    s.step(3)
    model = s.models()["lstm"]
    path = tmp_path / f"m{suffix}"
    TR.export_model(model, path)
    if suffix == ".npz":
        with np.load(path) as z:
            state = {k: z[k] for k in z.files}
    else:
        from safetensors.numpy import load_file

        state = load_file(str(path))
    assert sorted(state) == sorted(model.state_dict())
    back = model_from_state(state, "lstm")
    xs = s.test_batch()[0][:3]
    assert np.allclose(forward(back, xs)[0], forward(model, xs)[0])


def test_export_refuses_another_suffix(tmp_path):
    from rnnviz.engine import InputError

    with pytest.raises(InputError, match="cannot export"):
        TR.export_model(session().models()["rnn_tanh"], tmp_path / "m.pt")


@pytest.mark.parametrize("cell", ["rnn_tanh", "gru", "lstm"])
def test_pytorch_loads_the_export_and_computes_the_same_outputs(tmp_path, cell):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    s = session(cell=cell)
    s.step(3)
    model = s.models()[cell]
    path = tmp_path / "m.safetensors"
    TR.export_model(model, path)
    D, H, O = model.input_size, model.rnn.hidden_size, model.output_size
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[model.kind]

    class RNNModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = module(D, H, 1)
            self.fc = torch.nn.Linear(H, O)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

    net = RNNModel().double()
    net.load_state_dict(load_file(str(path)))
    xs = s.test_batch()[0][:4]
    with torch.no_grad():
        theirs = net(torch.from_numpy(np.ascontiguousarray(xs.transpose(1, 0, 2)))).numpy().transpose(1, 0, 2)
    ours = forward(model, xs, dtype=np.float64)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_a_session_file_keeps_the_settings_and_the_trained_models(tmp_path):
    from rnnviz.core.model import Settings
    from rnnviz.core.session import SessionData, load_session, save_session

    s = session(cell="compare", task="recall", lr=0.02, clip=0.5)
    s.step(4)
    path = tmp_path / "t.rnnviz"
    save_session(path, SessionData(Settings(), training=s.state("train")))
    back = load_session(path)
    st = back.training
    assert st.config == s.config and st.mode == "train" and st.updates == 4
    again = TrainSession()
    again.restore(st)
    assert again.updates == 4 and again.config == s.config
    for key, model in s.models().items():
        other = again.models()[key]
        assert all(np.array_equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    again.step()  # training goes on from the saved models
    assert again.snapshot().runs[0].updates.tolist() == [4]
    save_session(tmp_path / "u.rnnviz", back)
    assert (tmp_path / "u.rnnviz").read_bytes() == path.read_bytes()  # save → open → save: same bytes


@pytest.mark.parametrize("edit, match", [
    (lambda t: t["config"].update(nope=1), "unknown setting"),
    (lambda t: t["config"].update(lr=-1.0), "learning rate"),
    (lambda t: t["config"].update(hidden_size=2.5), "hidden_size"),
    (lambda t: t["models"]["rnn_tanh"].pop("fc.bias"), "parameters"),
    (lambda t: t["models"]["rnn_tanh"].update({"fc.bias": [[1.0]]}), "shape"),
    (lambda t: t["models"].update(lstm=t["models"]["rnn_tanh"]), "not a cell"),
    (lambda t: t.update(mode="sleep"), "training.mode"),
    (lambda t: t.update(extra=1), "unknown field"),
])
def test_a_bad_training_section_is_one_line_naming_the_file(tmp_path, edit, match):
    import json

    from rnnviz.core.model import Settings
    from rnnviz.core.session import SessionData, dumps_session, load_session
    from rnnviz.engine import InputError

    s = session()
    s.step(1)
    doc = json.loads(dumps_session(SessionData(Settings(), training=s.state())))
    edit(doc["training"])
    path = tmp_path / "bad.rnnviz"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=match) as err:
        load_session(path)
    assert "bad.rnnviz" in str(err.value) and "\n" not in str(err.value)


def test_a_text_longer_than_a_session_holds_is_refused():
    with pytest.raises(ValueError, match="at most"):
        TrainConfig(task="text", text="ab" * (TR.MAX_TEXT // 2 + 1)).check()


def test_a_session_with_a_trained_text_model_in_explore_reopens(tmp_path):
    """D = the vocabulary (> the 16 inputs the controls give a built-in cell)."""
    from rnnviz.core.model import LIMITS, Settings
    from rnnviz.core.session import SessionData, load_session, save_session

    s = session(task="text", length=10, batch=4, test_batch=4)
    s.step(2)
    cell = s.models()["rnn_tanh"].rnn.layers[0]
    D = cell.input_size
    assert D > LIMITS["input_size"][1]
    xs = s.test_sequence(0)[0]
    settings = Settings(cell="rnn_tanh", hidden_size=cell.hidden_size, input_size=D, T=len(xs), signal="custom",
                        custom=tuple(tuple(float(v) for v in row) for row in xs))
    path = tmp_path / "text.rnnviz"
    save_session(path, SessionData(settings, loaded=cell, loaded_name="trained", training=s.state()))
    back = load_session(path)
    assert back.settings == settings
    assert np.array_equal(back.loaded.W_ih, cell.W_ih) and np.array_equal(back.loaded.W_hh, cell.W_hh)
    assert back.training.config.text == s.config.text


def test_a_built_in_cell_keeps_the_controls_limits_in_a_session(tmp_path):
    import json

    from rnnviz.core.model import Settings
    from rnnviz.core.session import dumps_session, load_session
    from rnnviz.engine import InputError

    doc = json.loads(dumps_session(_default_session()))
    doc["settings"]["input_size"] = 17  # a built-in cell of D = 17 is not what the app makes
    path = tmp_path / "big.rnnviz"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="built-in cell") as err:
        load_session(path)
    assert "big.rnnviz" in str(err.value)
    doc["settings"]["input_size"] = 10**6  # beyond any model: refused before anything is built
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="out of range"):
        load_session(path)
    assert Settings().input_size == 1


def _default_session():
    from rnnviz.core.model import Settings
    from rnnviz.core.session import SessionData

    return SessionData(Settings())


def test_the_text_task_bounds_its_vocabulary_and_batches():
    text = "".join(chr(0x4E00 + k) for k in range(TR.MAX_VOCAB + 1)) * 2
    with pytest.raises(ValueError, match="different characters"):
        TrainConfig(task="text", text=text).check()
    TrainConfig(task="text", text=text[: TR.MAX_VOCAB] * 2).check()
    with pytest.raises(ValueError, match="input values"):
        TrainConfig(task="text", text=text[: TR.MAX_VOCAB] * 2, length=500, test_batch=4096).check()


def test_hold_keeps_the_worker_waiting_and_pause_still_stops_it_at_once():
    s = session()
    s.hold(30.0)  # the GUI thread has a frame to paint
    s.start()
    time.sleep(0.3)
    assert s.updates == 0 and s.running
    t0 = time.monotonic()
    s.pause()
    assert time.monotonic() - t0 < 1.0 and not s.running
    s.step()  # on the caller's thread: no hold
    assert s.updates == 1
