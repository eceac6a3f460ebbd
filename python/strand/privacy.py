"""Differential-privacy accounting for DP-SGD (Poisson-subsampled Gaussian), as
``strand privacy epsilon|sigma`` computes it (Rule 10)."""
from __future__ import annotations

from . import _strand


def epsilon(sampling_rate: float, noise_multiplier: float, steps: int, delta: float,
            accountant: str = "pld") -> float:
    """The epsilon a DP-SGD run spends at ``delta``: sampling rate q (expected batch / dataset
    size), noise multiplier sigma (noise std / clipping norm), optimiser steps. accountant: pld
    (tight, the default) or rdp."""
    return _strand.epsilon(sampling_rate, noise_multiplier, steps, delta, accountant)


def noise_multiplier(target_epsilon: float, sampling_rate: float, steps: int, delta: float,
                     accountant: str = "pld") -> float:
    """The smallest noise multiplier whose run stays within ``target_epsilon`` at ``delta``."""
    return _strand.noise_multiplier(target_epsilon, sampling_rate, steps, delta, accountant)
