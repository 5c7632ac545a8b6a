"""Input sequences (CSV, NPY): the formats, and clean errors for anything else."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnviz.engine import InputError
from rnnviz.io.sequences import read_sequence


def test_read_sequence_formats(tmp_path):
    (tmp_path / "a.csv").write_text("x\n0.1\n0.5\n0.9\n")
    np.testing.assert_array_equal(read_sequence(tmp_path / "a.csv"), [[0.1], [0.5], [0.9]])
    (tmp_path / "b.csv").write_text("1;2\n3;4\n")
    np.testing.assert_array_equal(read_sequence(tmp_path / "b.csv"), [[1, 2], [3, 4]])
    (tmp_path / "c.csv").write_text("1\t2\n3\t4\n")
    np.testing.assert_array_equal(read_sequence(tmp_path / "c.csv", input_size=2), [[1, 2], [3, 4]])
    np.save(tmp_path / "d.npy", np.arange(6.0).reshape(3, 2).astype(np.float32))
    assert read_sequence(tmp_path / "d.npy").dtype == np.float64
    np.save(tmp_path / "e.npy", np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="shape"):
        read_sequence(tmp_path / "e.npy")
    np.save(tmp_path / "f.npy", np.array(["a", "b"]))
    with pytest.raises(InputError, match="expected numbers"):
        read_sequence(tmp_path / "f.npy")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), ext=st.sampled_from([".csv", ".npy"]))
def test_fuzz_sequence_reader_only_raises_input_error(tmp_path, data, ext):
    p = tmp_path / f"fuzz{ext}"
    p.write_bytes(data)
    try:
        xs = read_sequence(p)
    except InputError as err:
        assert "\n" not in str(err) and "fuzz" in str(err)
    else:
        assert xs.ndim == 2 and np.all(np.isfinite(xs))


def test_a_stray_carriage_return_is_a_clean_error(tmp_path):
    p = tmp_path / "cr.csv"
    p.write_bytes(b'1\r2"\r3')  # csv raises its own csv.Error here when given the text whole
    with pytest.raises(InputError, match=r"cr\.csv: (is not a readable CSV file \(a stray line break|row 2: '2\"' is not a number)"):
        read_sequence(str(p))
