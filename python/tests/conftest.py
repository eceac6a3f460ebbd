"""Shared fixtures: a small simulated dataset and a model trained on it by the `strand` program
(STRAND_CLI, set by ctest; else build/strand)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

try:  # before strand: a CUDA build of strand and PyTorch's CUDA wheels share NCCL's soname, and
    import torch  # noqa: F401  # the one loaded first serves both (torch needs its newer one)
except ImportError:
    pass
import strand  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("STRAND_CLI", str(ROOT / "build" / "strand"))
    if not Path(path).exists():
        pytest.fail(f"the strand program is missing ({path}); build it or set STRAND_CLI")

    def run(*args):
        r = subprocess.run([path, *map(str, args)], capture_output=True, text=True)
        assert r.returncode == 0, f"strand {' '.join(map(str, args))}: {r.stderr}"
        return r.stdout
    return run


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """600 sequences of 100 bp with two tasks, written as FASTA + labels."""
    out = tmp_path_factory.mktemp("sim")
    return strand.simulate(out=out, sequences=600, length=100, seed=5)


# A quick run: the small CNN, two epochs, few bootstrap replicates.
TRAIN_ARGS = {"model": "cnn-small", "epochs": 2, "batch_size": 64, "seed": 3, "bootstrap": 50}


@pytest.fixture(scope="session")
def cli_run(cli, data, tmp_path_factory):
    """A model trained by `strand train`, and the metrics it printed."""
    out = tmp_path_factory.mktemp("cli-run")
    args = ["train", "--fasta", data["fasta"], "--labels", data["labels_path"], "--out", out,
            "--no-progress", "--json"]
    for key, value in TRAIN_ARGS.items():
        args += ["--" + key.replace("_", "-"), value]
    metrics = json.loads(cli(*args))
    return out, metrics
