"""Rule 8 from Python: look inside a trained model. The same code as ``strand interpret ism``,
``strand interpret attributions`` and ``strand score-variants`` (the C++ ``interpret/`` library),
so results equal the commands' files. Sequences are uint8 base codes ``[N, L]`` of the model's
input length (:func:`strand.encode`); every call runs on the CPU without the GIL."""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

__all__ = ["attributions", "ism", "score_variants"]

PathLike = Union[str, "os.PathLike[str]"]


def _codes(x: Any) -> Any:
    return x if isinstance(x, np.ndarray) or hasattr(x, "__dlpack__") else np.asarray(x, np.uint8)


def ism(model: "strand.Model", x: Any, tasks: Optional[Sequence[str]] = None, start: int = 0,
        end: int = 0, rc_average: bool = False, batch_size: int = 512) -> np.ndarray:
    """In-silico saturation mutagenesis: float32 ``[N, T, 4, W]``, the change of each task's
    logit when position ``start + i`` holds base A, C, G or T (0 at the reference base), for the
    window ``[start, end)`` (end 0: the whole sequence). Uses the receptive-field fast path where
    the model allows it (as ``strand interpret ism``)."""
    return model._native.ism(_codes(x), list(tasks or []), start, end, rc_average, batch_size)


def attributions(model: "strand.Model", x: Any, method: str = "deeplift",
                 tasks: Optional[Sequence[str]] = None, references: int = 20, steps: int = 50,
                 baseline: str = "shuffle", seed: int = 1, batch_size: int = 64,
                 rc_average: bool = False) -> dict:
    """Attributions as ``strand interpret attributions`` computes them (same references, seeds
    and batches): ``{"attributions", "hypothetical"}`` float32 ``[N, T, 4, L]`` and
    ``{"output", "reference_output", "delta"}`` float64 ``[N, T]`` (delta: the sum of the
    attributions minus f(x) - mean f(reference); near 0 for DeepLIFT).

    method: deeplift, integrated-gradients, input-x-gradient or saliency. references: dinucleotide
    shuffles per sequence (DeepLIFT; integrated gradients with the shuffle baseline). baseline:
    shuffle, zeros or uniform (integrated gradients)."""
    return model._native.attributions(_codes(x), method, list(tasks or []), references, steps,
                                      baseline, seed, batch_size, rc_average)


def score_variants(model: "strand.Model", vcf: PathLike, genome: PathLike, out: PathLike,
                   tasks: Optional[Sequence[str]] = None, ref_mismatch: str = "fail",
                   rc_average: bool = False, batch_size: int = 64) -> dict:
    """Scores the VCF's variants as ``strand score-variants --out OUT`` does (the TSV is written
    to ``out``, atomically) and returns the counts: ``rows``, ``ref_mismatches``, ``swapped``,
    ``records_without_alt`` and ``log`` (one line per REF mismatch or swap). ref_mismatch: fail,
    skip or swap (alleles given in the other orientation). tasks: the outputs written (default
    every output)."""
    return model._native.score_variants(os.fspath(vcf), os.fspath(genome), os.fspath(out),
                                        list(tasks or []), ref_mismatch, rc_average, batch_size)
