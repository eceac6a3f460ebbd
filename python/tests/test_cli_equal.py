"""Python results equal the `strand` program's bit for bit on the CPU (same data, same seed):
predict, train metrics and the metric panel."""
import json

import numpy as np

import strand
from conftest import TRAIN_ARGS

# Wall-clock facts differ between any two runs.
TIMING = {"seconds", "samples_per_s"}


def test_predict_equals_cli(cli, cli_run, data):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    for rc in (False, True):
        args = ["predict", "--model", run / "model.safetensors", "--fasta", data["fasta"], "--json"]
        printed = json.loads(cli(*args, *(["--rc-average"] if rc else [])))["predictions"]
        expected = np.array([[row[t] for t in model.tasks] for row in printed])
        codes = model.predict(data["codes"], rc_average=rc)
        onehot = model.predict(strand.one_hot(data["codes"]), rc_average=rc)
        assert codes.shape == (600, 2) and codes.dtype == np.float64
        assert np.array_equal(codes, expected), "codes: not bit-equal to strand predict"
        # The one-hot input runs the convolution as a GEMM, codes the multiplication-free path.
        np.testing.assert_allclose(onehot, expected, rtol=0, atol=1e-6)
    # The calibration strand train stored with the weights, applied the same way.
    printed = json.loads(cli("predict", "--model", run / "model.safetensors", "--fasta",
                             data["fasta"], "--json", "--calibrated"))["predictions"]
    expected = np.array([[row[t] for t in model.tasks] for row in printed])
    calibrated = model.predict(data["codes"], calibrated=True)
    assert np.array_equal(calibrated, expected), "calibrated: not bit-equal to strand predict"
    assert not np.array_equal(calibrated, model.predict(data["codes"]))
    metrics = json.loads((run / "metrics.json").read_text())
    assert model.calibration["recommended"] == metrics["calibration"]["recommended"]
    assert model.calibration["a"] == metrics["calibration"]["a"]


def test_train_metrics_equal_cli(cli_run, data, tmp_path):
    run, cli_metrics = cli_run
    metrics = strand.train(fasta=data["fasta"], labels=data["labels_path"], out=tmp_path / "run",
                           quiet=True, **TRAIN_ARGS)
    strip = lambda m: {k: v for k, v in m.items() if k not in TIMING}
    assert strip(metrics) == strip(cli_metrics)
    assert metrics["valid"]["kind"] == "binary" and metrics["test"] is not None
    ours = strand.load_model(tmp_path / "run" / "model.safetensors").state_dict()
    theirs = strand.load_model(run / "model.safetensors").state_dict()
    assert ours.keys() == theirs.keys()
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours), "weights differ"


def test_metrics_equal_cli(cli, cli_run, data, tmp_path):
    run, _ = cli_run
    scores_tsv = tmp_path / "scores.tsv"
    cli("predict", "--model", run / "model.safetensors", "--fasta", data["fasta"], "--out",
        scores_tsv)
    expected = json.loads(cli("metrics", "--labels", data["labels_path"], "--scores", scores_tsv,
                              "--bootstrap", 200, "--json"))
    # The same numbers the program read: its scores file and its labels file.
    scores = np.loadtxt(scores_tsv, skiprows=1, usecols=(1, 2), dtype=np.float64)
    labels = np.loadtxt(data["labels_path"], skiprows=1, usecols=(1, 2), dtype=np.float64)
    got = strand.metrics(labels, scores, tasks=data["tasks"], bootstrap=200)
    assert got == expected
    assert 0.5 < got["tasks"][data["tasks"][0]]["auroc"] <= 1


def test_privacy_epsilon_equals_cli(cli):
    printed = json.loads(cli("privacy", "epsilon", "--sampling-rate", 0.01, "--noise-multiplier",
                             1.1, "--steps", 1000, "--delta", 1e-5, "--json"))
    assert strand.privacy.epsilon(0.01, 1.1, 1000, 1e-5) == printed["epsilon"]
    sigma = strand.privacy.noise_multiplier(8.0, 0.01, 1000, 1e-5, accountant="rdp")
    assert strand.privacy.epsilon(0.01, sigma, 1000, 1e-5, accountant="rdp") <= 8.0


def test_given_lr_or_batch_size_turns_default_tuning_off(data, tmp_path):
    # As on the command line: the default tuning searches lr and batch size, so a user's value
    # for either is kept, not searched over (10 epochs would otherwise run the search).
    common = dict(fasta=data["fasta"], labels=data["labels_path"], quiet=True, epochs=10,
                  max_steps=2, baseline=False)
    metrics = strand.train(out=tmp_path / "lr", lr=0.002, **common)
    assert metrics["default_tuning"] is None
    metrics = strand.train(out=tmp_path / "off", tune=False, **common)
    assert metrics["default_tuning"] is None
