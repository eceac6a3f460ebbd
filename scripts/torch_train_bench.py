#!/usr/bin/env python3
"""PyTorch's train steps of DeepSEA, Basset and DanQ, the peer of strand's `bench_train` (same
layers as layers/models.cpp, batch 64, BCE with logits, Adam lr 1e-3, one step = forward,
backward, update), in fp32 eager, bf16 autocast eager and torch.compile (fp32), timed with CUDA
events after warm-up. fp32 here is strict fp32 (TF32 off for matmuls and cuDNN convolutions);
strand's fp32 convolutions run 3xTF32 (custom kernel) or FMA (cuDNN): the table says so.

PyTorch takes the one-hot input as a float tensor made before timing (its usual form); strand's
first convolution reads base codes (its one-hot path). Both are what each framework's user runs.

  python3 scripts/torch_train_bench.py [--quick] [--budget S] [--strand-json bench.json]
      [--json out.json]

With --strand-json (Google Benchmark JSON holding bench_train's BM_TrainStep rows), prints the
side-by-side table with strand's samples/s and the ratios strand / PyTorch.
"""
import argparse
import json
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_models import MODELS, build  # noqa: E402

BATCH = 64


def measure(torch, name, length, outputs, mode, seconds):
    """samples/s of one configuration: mode is fp32, bf16 (autocast) or compile (fp32)."""
    nn = torch.nn
    torch.manual_seed(1)
    device = torch.device("cuda")
    model = build(name, length, outputs).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    codes = torch.randint(0, 4, (BATCH, length), device=device)
    x = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()
    y = torch.randint(0, 2, (BATCH, outputs), device=device).float()
    loss_fn = nn.BCEWithLogitsLoss()
    fwd = torch.compile(model) if mode == "compile" else model

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=(mode == "bf16")):
            loss = loss_fn(fwd(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.time()
    for _ in range(3):  # warm-up: cuDNN autotuning, allocator, compilation
        step()
    torch.cuda.synchronize()
    warm = time.time() - t0
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    steps, ms = 5, 0.0
    while True:
        start.record()
        for _ in range(steps):
            step()
        stop.record()
        stop.synchronize()
        ms = start.elapsed_time(stop)
        if ms >= seconds * 1e3 or steps >= 5000:
            break
        steps = int(steps * max(2.0, 1.2 * seconds * 1e3 / max(ms, 1e-3)))
    return {"model": name, "mode": mode, "samples_per_s": BATCH * steps / (ms * 1e-3),
            "ms_per_step": ms / steps, "steps": steps, "warmup_s": warm}


def strand_rates(path):
    """{(model, 'fp32'|'bf16'): samples/s} from bench_train's GPU rows in a benchmark JSON."""
    rates = {}
    try:
        with open(path) as f:
            rows = json.load(f).get("benchmarks", [])
    except (OSError, ValueError):
        return rates
    for row in rows:
        m = re.match(r"BM_TrainStep/model:(\d)/cuda:1/bf16:(\d)", row.get("name", ""))
        if m and "samples/s" in row and not row.get("error_occurred"):
            rates[(list(MODELS)[int(m.group(1))], "bf16" if m.group(2) == "1" else "fp32")] = \
                row["samples/s"]
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="no torch.compile, shorter timing")
    ap.add_argument("--strand-json")
    ap.add_argument("--json")
    ap.add_argument("--budget", type=float, default=1e9,
                    help="seconds: start no configuration past this, still print the table")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_train_bench: no CUDA device visible to PyTorch", file=sys.stderr)
        return 3
    # Strict fp32 for the fp32 rows; autocast decides bf16's matmul precision itself.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__} cuDNN {torch.backends.cudnn.version()} "
          f"on {torch.cuda.get_device_name()}", flush=True)
    modes = ["fp32", "bf16"] + ([] if args.quick else ["compile"])
    seconds = 0.5 if args.quick else 1.5
    results = []
    begin = time.time()
    # Eager rows for every model first: compilation is the slowest and the first to be cut.
    for mode in modes:
        for name, (length, outputs) in MODELS.items():
            # Compilation takes tens of seconds: start one only with that much budget left.
            if time.time() - begin > args.budget - (45 if mode == "compile" else 0):
                print(f"out of time: {name} {mode} not measured", flush=True)
                continue
            try:
                r = measure(torch, name, length, outputs, mode, seconds)
            except Exception as e:  # one failing configuration must not hide the others
                r = {"model": name, "mode": mode, "error": f"{type(e).__name__}: {e}"[:300]}
            results.append(r)
            print(json.dumps(r), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "results": results}, f, indent=1)
    ours = strand_rates(args.strand_json) if args.strand_json else {}
    print("\nsamples/s, batch 64 (fp32: strand's convolutions 3xTF32 custom or FMA cuDNN, torch strict"
          " fp32; bf16: strand's weights and activations bf16, torch autocast over fp32 weights)")
    print(f"{'model':8} {'precision':9} {'strand':>9} {'torch':>9} {'compile':>9} "
          f"{'strand/torch':>12}")
    by = {(r["model"], r["mode"]): r.get("samples_per_s") for r in results}
    for name in MODELS:
        for prec in ("fp32", "bf16"):
            s, t = ours.get((name, prec)), by.get((name, prec))
            c = by.get((name, "compile")) if prec == "fp32" else None
            fmt = lambda v: f"{v:9.0f}" if v else f"{'-':>9}"
            ratio = f"{s / t:12.2f}" if s and t else f"{'-':>12}"
            print(f"{name:8} {prec:9} {fmt(s)} {fmt(t)} {fmt(c)} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
