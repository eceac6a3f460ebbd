#!/usr/bin/env python3
"""The peer of bench/attributions.cpp: tangermeme's deep_lift_shap (and input x gradient) on
the PyTorch twin of strand's DeepSEA (bench/torch_models.py) at 1 kb, CPU fp32, random weights,
4 sequences, 20 dinucleotide-shuffled references, one task. Prints sequences per second.

    .venv/bin/python bench/attributions_tangermeme.py --threads 2
"""
import argparse
import os
import sys
import time

import torch
from tangermeme.deep_lift_shap import deep_lift_shap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import build  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = build("deepsea", 1000, 919).eval()
    g = torch.Generator().manual_seed(2)
    codes = torch.randint(0, 4, (4, 1000), generator=g)
    x = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()
    for _ in range(a.repeats):
        start = time.perf_counter()
        deep_lift_shap(model, x, target=0, n_shuffles=20, batch_size=20, device="cpu",
                       random_state=0, warning_threshold=1e9)
        s = time.perf_counter() - start
        print(f"tangermeme deep_lift_shap: {4 / s:.3f} sequences/s ({s:.2f} s)")
    for _ in range(a.repeats):
        start = time.perf_counter()
        xi = x.clone().requires_grad_()
        (grad,) = torch.autograd.grad(model(xi)[:, 0].sum(), xi)
        _ = grad * x
        s = time.perf_counter() - start
        print(f"torch input x gradient: {4 / s:.3f} sequences/s ({s:.3f} s)")


if __name__ == "__main__":
    main()
