"""strand: a C++20/CUDA deep learning engine for genomic sequence models, from Python.

Thin over the C++ library (the extension ``strand._strand``): the same code the ``strand``
command line runs, so results agree with it bit for bit on the CPU. Arrays go in and out as
NumPy arrays; any DLPack producer (a PyTorch, JAX or CuPy tensor on the CPU) is read in place.

DNA is either uint8 base codes ``[N, L]`` (A=0, C=1, G=2, T=3, N=4; see :func:`encode`) or a
float32 one-hot ``[N, 4, L]`` (channels A, C, G, T; see :func:`one_hot`).

    >>> import strand
    >>> data = strand.simulate(out="sim", sequences=2000, length=200)
    >>> metrics = strand.train(fasta=data["fasta"], labels=data["labels_path"], epochs=2)
    >>> model = strand.load_model("strand-run/model.safetensors")
    >>> scores = model.predict(data["codes"], rc_average=True)

Errors raise :class:`StrandError` (a ``RuntimeError``) with strand's message.

Interpretation: :func:`ism`, :func:`attributions` and :func:`score_variants` (``strand.interpret``).
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

# OpenMP's wait policy, chosen before the extension loads libgomp, as the strand program does
# (core/omp_wait.h): threads sleep instead of spinning between parallel regions when the machine
# is oversubscribed, unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    if os.getloadavg()[0] > len(os.sched_getaffinity(0)) + 1:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from . import _strand  # noqa: E402
from . import interpret, privacy
from .interpret import attributions, ism, score_variants
from ._strand import StrandError

__version__: str = _strand.__version__
#: True when the extension was built with CUDA (``device="cuda"`` then works where a GPU exists).
cuda: bool = _strand.cuda

__all__ = ["Model", "StrandError", "attributions", "check_splits", "cuda", "encode", "interpret",
           "ism", "load_model", "metrics", "one_hot", "privacy", "save_model", "score_variants",
           "simulate", "train"]

PathLike = Union[str, "os.PathLike[str]"]


class Model:
    """A trained strand model (``model.safetensors`` written by ``strand train``)."""

    def __init__(self, native: "_strand.Model"):
        self._native = native

    @property
    def info(self) -> dict:
        """What rebuilds the model: ``name``, ``length``, ``outputs``, ``kind``, ``tasks``."""
        return self._native.info

    @property
    def calibration(self) -> dict | None:
        """The calibration ``strand train`` fitted on validation and stored in the file (method,
        parameters, ``recommended`` and the cross-fitted validation log loss behind it), or None.
        ``predict(x, calibrated=True)`` applies it."""
        return self._native.calibration

    @property
    def path(self) -> str:
        return self._native.path

    @property
    def tasks(self) -> list[str]:
        """Output names: label columns, or classes for a multi-class model."""
        return list(self.info["tasks"])

    @property
    def length(self) -> int:
        """The input length the model takes."""
        return int(self.info["length"])

    def predict(self, x: Any, rc_average: bool = False, batch_size: int = 256,
                device: str = "cpu", calibrated: bool = False) -> np.ndarray:
        """Scores ``[N, outputs]`` (float64): probabilities (sigmoid, or softmax for multi-class)
        or values (regression), as ``strand predict`` writes them.

        x: uint8 base codes ``[N, L]`` or float32 one-hot ``[N, 4, L]`` (NumPy, or a CPU tensor
        read through DLPack), with L the model's input length. rc_average: the mean of both
        strands' predictions. calibrated: through the calibration ``strand train`` fitted on
        validation and stored in the file (``strand predict --calibrated``; StrandError when the
        file has none). Runs without the GIL."""
        return self._native.predict(_array(x), rc_average, batch_size, device, calibrated)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights under PyTorch's state_dict names and layouts (copies)."""
        return self._native.state_dict()

    def describe(self) -> dict:
        """The layer tree: each layer's PyTorch type, arguments and named children
        (what :mod:`strand.torch` builds an ``nn.Module`` from)."""
        return self._native.describe()

    def __repr__(self) -> str:
        i = self.info
        return f"strand.Model({i['name']!r}, length={i['length']}, tasks={i['tasks']})"


def _array(x: Any) -> Any:
    """NumPy arrays and DLPack producers pass through; lists become arrays."""
    if isinstance(x, np.ndarray) or hasattr(x, "__dlpack__"):
        return x
    return np.asarray(x)


def load_model(path: PathLike) -> Model:
    """Loads a strand model file (rebuilds the architecture from its metadata, loads the weights
    strictly). A missing file or one that is not a strand model raises StrandError."""
    return Model(_strand.load_model(os.fspath(path)))


def save_model(path: PathLike, state_dict: Mapping[str, Any], like: Union[Model, Mapping[str, Any]]
               ) -> None:
    """Writes weights (a PyTorch state_dict or arrays by name) as a strand model file.

    like: a Model, or an info dict (``name``, ``length``, ``outputs``, ``kind``, ``tasks``, and
    ``spec`` for YAML models), describing the architecture; every name and shape must match it."""
    info = like.info if isinstance(like, Model) else dict(like)
    state = {k: _to_numpy(v) for k, v in state_dict.items()}
    _strand.save_model(os.fspath(path), info, state)


def _to_numpy(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):  # a torch tensor: to the CPU, as an array without a copy
        v = v.detach().cpu()
        return np.from_dlpack(v) if hasattr(np, "from_dlpack") else v.numpy()
    return np.asarray(v)


def train(config: Union[None, PathLike, Mapping[str, Any]] = None, **kwargs: Any) -> dict:
    """Trains as ``strand train`` does (the same pipeline, train/pipeline.h) and returns the run's
    metrics (what ``OUT/metrics.json`` holds: ``valid``, ``test``, ``baseline``, ...).

    config: a dict or a JSON file of options; keyword arguments win over it. Options are the
    training config's keys (``model``, ``epochs``, ``batch_size``, ``lr``, ``seed``, ``device``,
    ``rc_average``, ``conv_algo``, ``tf32``, ``rnn_algo``, ``dp``, ...; an unknown key is an
    error naming the closest) and the run's:
    ``fasta`` + ``labels``, or ``bed`` + ``genome`` + ``window`` (none: the built-in simulated
    dataset), ``task``, ``split_method``, ``test_chroms``, ``valid_chroms``, ``test_fraction``,
    ``valid_fraction``, ``split_seed``, ``out`` (default ``strand-run``), ``resume``,
    ``bootstrap`` (replicates, default 1000), ``baseline``, ``strict``, ``permutations``,
    ``tune`` (False: no default tuning of lr and batch size; giving ``lr`` or ``batch_size`` also
    turns it off) and ``quiet`` (no progress output). Without ``model`` the default model follows
    the data, as on the command line. Runs without the GIL."""
    options: dict = {}
    if isinstance(config, (str, os.PathLike)):
        with open(config) as f:
            options.update(json.load(f))
    elif config is not None:
        options.update(config)
    options.update(kwargs)
    for key in ("fasta", "labels", "bed", "genome", "out", "resume"):
        if key in options and options[key] is not None:
            options[key] = os.fspath(options[key])
    return _strand.train(options)


def simulate(out: Optional[PathLike] = None, sequences: int = 4000, length: int = 200,
             seed: int = 1, gc: float = 0.42, **options: Any) -> dict:
    """The simulated motif dataset of ``strand simulate`` (the same sequences for the same seed).

    Returns ``names``, ``codes`` (uint8 ``[N, L]``), ``labels`` (float32 ``[N, tasks]``),
    ``tasks`` and ``split`` (train/valid/test per row); with ``out`` also writes
    ``OUT/sequences.fa``, ``OUT/labels.tsv`` and ``OUT/ground_truth.json`` and adds their paths
    (``fasta``, ``labels_path``, ``ground_truth``). Other options: ``positive_fraction``,
    ``valid_fraction``, ``test_fraction``."""
    o = dict(sequences=sequences, length=length, seed=seed, gc=gc, **options)
    return _strand.simulate(o, "" if out is None else os.fspath(out))


def metrics(y: Any, scores: Any, kind: str = "auto", tasks: Optional[Sequence[str]] = None,
            threshold: float = 0.5, bootstrap: int = 1000, seed: int = 1,
            ece_bins: int = 10) -> dict:
    """The metric panel of ``strand metrics`` (AUROC, AUPRC, MCC, F1, calibration, ... with
    bootstrap 95% intervals; an undefined metric says why instead of a number).

    y: labels ``[N, tasks]`` (0/1, NaN = missing; or values for regression) or, for multi-class,
    class indices ``[N]``; scores: ``[N, tasks]`` (or ``[N, classes]``). kind: binary,
    multi-label, multi-class, regression, or auto (multi-class for 1-D integer y, regression for
    labels other than 0/1, else binary)."""
    y_arr = np.asarray(y)
    s = np.asarray(scores, dtype=np.float64)
    if kind == "auto":
        finite = y_arr[np.isfinite(y_arr)] if y_arr.dtype.kind == "f" else y_arr
        if y_arr.ndim == 1 and y_arr.dtype.kind in "iu":
            kind = "multi-class"
        elif np.all(np.isin(finite, (0, 1))):
            kind = "binary"
        else:
            kind = "regression"
    if y_arr.ndim == 1 and kind != "multi-class":
        y_arr = y_arr[:, None]
    if s.ndim == 1:
        s = s[:, None]
    columns = list(tasks) if tasks is not None else [f"task{i}" for i in range(s.shape[1])]
    return _strand.metrics(kind, columns, np.asarray(y_arr, dtype=np.float64), s, threshold,
                           bootstrap, seed, ece_bins)


def check_splits(*splits: Union[Sequence[str], PathLike], names: Optional[Sequence[str]] = None,
                 min_identity: float = 0.85, k: int = 12, bins: int = 512, top: int = 10) -> dict:
    """Rule 1: sequences shared between splits (exact, reverse-complement and MinHash
    near-duplicates at ``min_identity``), as ``strand check splits`` finds them.

    splits: two or more splits, each a list of sequences or a FASTA path. Returns the counts,
    ``leak`` and the ``top`` worst pairs (split and index within it)."""
    seqs = [_read_fasta(s) if isinstance(s, (str, os.PathLike)) else list(s) for s in splits]
    names = list(names) if names is not None else ["train", "valid", "test", *(
        f"split{i}" for i in range(3, len(seqs)))][:len(seqs)]
    return _strand.check_splits(seqs, names, min_identity, k, bins, top)


def _read_fasta(path: PathLike) -> list[str]:
    seqs: list[str] = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                seqs.append("")
            elif line:
                if not seqs:
                    raise StrandError(f"'{os.fspath(path)}': sequence before the first '>' header")
                seqs[-1] += line
    return seqs


def encode(sequences: Sequence[str]) -> np.ndarray:
    """uint8 base codes ``[N, L]`` of equal-length DNA strings (A=0, C=1, G=2, T=3, other=4)."""
    return _strand.encode(list(sequences))


def one_hot(codes: Any) -> np.ndarray:
    """float32 one-hot ``[N, 4, L]`` of base codes ``[N, L]`` (an unknown base is 0.25 in all
    four channels, as strand's models read it)."""
    return _strand.one_hot(_array(codes))
