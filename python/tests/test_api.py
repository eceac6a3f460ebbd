"""The package's own behaviour: data helpers, check_splits, errors as exceptions, the GIL."""
import threading

import numpy as np
import pytest

import strand


def test_encode_and_one_hot():
    codes = strand.encode(["ACGTN", "TTGCA"])
    assert codes.dtype == np.uint8 and codes.tolist() == [[0, 1, 2, 3, 4], [3, 3, 2, 1, 0]]
    hot = strand.one_hot(codes)
    assert hot.shape == (2, 4, 5) and hot.dtype == np.float32
    assert hot[0, :, 0].tolist() == [1, 0, 0, 0] and hot[0, :, 4].tolist() == [0.25] * 4


def test_simulate_is_seeded(data):
    again = strand.simulate(sequences=600, length=100, seed=5)
    assert np.array_equal(again["codes"], data["codes"])
    assert np.array_equal(again["labels"], data["labels"])
    assert again["codes"].shape == (600, 100) and set(again["split"]) == {"train", "valid", "test"}


def test_check_splits_finds_shared_sequences():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 200)) for _ in range(40)]
    clean = strand.check_splits(seqs[:30], seqs[30:])
    assert not clean["leak"] and clean["counts"]["exact"] == 0
    rc = seqs[3][::-1].translate(str.maketrans("ACGT", "TGCA"))
    leaky = strand.check_splits(seqs[:30], seqs[30:] + [seqs[5], rc])
    assert leaky["leak"]
    assert leaky["counts"]["exact"] == 1 and leaky["counts"]["reverse_complement"] == 1


def test_errors_are_exceptions(cli_run, tmp_path):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    with pytest.raises(strand.StrandError, match="uint8 base codes"):
        model.predict(np.zeros((2, 100), dtype=np.float64))
    with pytest.raises(strand.StrandError, match="length 50, but the model takes length 100"):
        model.predict(np.zeros((2, 50), dtype=np.uint8))
    with pytest.raises(strand.StrandError, match="4 channels"):
        model.predict(np.zeros((2, 3, 100), dtype=np.float32))
    with pytest.raises(strand.StrandError, match="base codes are 0-4"):
        model.predict(np.full((1, 100), 7, dtype=np.uint8))
    with pytest.raises(strand.StrandError, match="missing.safetensors"):
        strand.load_model(tmp_path / "missing.safetensors")
    with pytest.raises(strand.StrandError, match="unknown training config key 'epoch'"):
        strand.train(epoch=3, out=tmp_path / "bad")
    with pytest.raises(strand.StrandError, match="scores must be"):
        strand.metrics(np.ones((4, 2)), np.ones((3, 2)))
    with pytest.raises(strand.StrandError, match="accountant"):
        strand.privacy.epsilon(0.01, 1.0, 10, 1e-5, accountant="nope")


def test_predict_releases_the_gil(cli_run):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    x = np.random.default_rng(1).integers(0, 4, (20000, 100)).astype(np.uint8)
    started, counted = threading.Event(), [0]

    def predict():
        started.set()
        model.predict(x)

    t = threading.Thread(target=predict)
    t.start()
    started.wait()
    while t.is_alive():  # runs only while predict has let go of the GIL
        counted[0] += 1
    t.join()
    assert counted[0] > 1000, f"the main thread ran {counted[0]} loops during predict"
