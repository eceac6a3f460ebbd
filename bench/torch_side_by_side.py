#!/usr/bin/env python3
"""strand's bench_train beside PyTorch on the CPU, in one invocation, and the ratios.

For DeepSEA, Basset and DanQ (batch 64, published input lengths), in fp32 and bf16 (strand: bf16
autocast on the CPU; PyTorch: torch.autocast("cpu", torch.bfloat16)):
  train    one step = forward, BCE with logits, backward, Adam
  predict  forward in eval mode without gradients
Each case alternates PyTorch (in this process) and strand (`bench_train` filtered to the case, a
fresh process) `--repeats` times and reports the medians; ratio = strand / PyTorch samples/s, so
above 1.0 strand is faster. Both use `--threads` threads. The 1-minute load average is printed
beside each case: on a shared machine, compare ratios, not absolute numbers.

  python3 bench/torch_side_by_side.py --build build --repeats 2   # everything (about 5 minutes)
  python3 bench/torch_side_by_side.py --models deepsea --modes train --precisions fp32

On a shared machine, --realtime runs both sides under SCHED_RR (needs root or CAP_SYS_NICE):
other processes then get about 5% of the CPUs (the kernel's real-time throttle) while it runs, so
the timings come close to an idle machine's; strand is then given libgomp's default spin
(GOMP_SPINCOUNT=300000) instead of the passive wait it picks on an oversubscribed machine.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import MODELS, build  # noqa: E402

BENCH_INDEX = {"deepsea": 0, "basset": 1, "danq": 2}  # bench_train's model argument
BATCH = 64
EXTRA_ENV = {}  # for strand's processes (--realtime)


def timed(fn, min_time):
    """samples/s of fn (one batch per call) after two warm-up calls, over >= min_time s."""
    fn()
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 2:
            return BATCH * n / elapsed


def torch_case(name, mode, precision, min_time):
    length, outputs = MODELS[name]
    torch.manual_seed(1)
    model = build(name, length, outputs)
    codes = torch.randint(0, 4, (BATCH, length))
    x = nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()
    labels = torch.randint(0, 2, (BATCH, outputs)).float()
    bf16 = precision == "bf16"
    if mode == "train":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(x).float(), labels)
            loss.backward()
            opt.step()
        return timed(step, min_time)
    model.eval()

    def predict():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(x)
    return timed(predict, min_time)


def strand_case(bench, name, mode, precision, threads):
    idx = BENCH_INDEX[name]
    bf16 = int(precision == "bf16")
    pattern = (f"^BM_TrainStep/model:{idx}/cuda:0/bf16:{bf16}/" if mode == "train"
               else f"^BM_Predict/model:{idx}/bf16:{bf16}/")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **EXTRA_ENV)
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", "--benchmark_format=json"],
                         env=env, check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    if not runs or runs[0].get("error_occurred"):
        raise RuntimeError(f"bench_train {pattern}: {runs[0].get('error_message') if runs else 'no run'}")
    return runs[0]["samples/s"]


def cpu_description():
    model, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return model, isa


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build", help="strand build directory (has bench_train)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--modes", nargs="+", default=["train", "predict"], choices=["train", "predict"])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=3.0, help="seconds per PyTorch measurement")
    p.add_argument("--realtime", action="store_true",
                   help="run both sides under SCHED_RR (root): close to an idle machine's timings")
    a = p.parse_args()
    if a.realtime:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))  # strand's processes inherit it
        EXTRA_ENV["GOMP_SPINCOUNT"] = "300000"  # libgomp's default, as on an idle machine

    started = time.monotonic()
    bench = os.path.join(a.build, "bench_train")
    if not os.access(bench, os.X_OK):
        sys.exit(f"torch_side_by_side: {bench} not found; build strand first (scripts/build.sh)")
    torch.set_num_threads(a.threads)
    model, isa = cpu_description()
    print(f"# CPU: {model}; ISA: {' '.join(isa)}; {os.cpu_count()} CPUs, {a.threads} threads")
    info = subprocess.run([os.path.join(a.build, "strand"), "info"], capture_output=True, text=True,
                          env=dict(os.environ, **EXTRA_ENV))
    print("# " + info.stdout.strip().replace("\n", "\n# "))
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    print(f"# source tree at {head.stdout.strip() or 'unknown'} (strand info's commit is the build's)")
    if a.realtime:
        print("# --realtime: both sides under SCHED_RR; strand with GOMP_SPINCOUNT=300000")
    print(f"# PyTorch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}),"
          f" Python {platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("\n| model | mode | precision | strand samples/s | PyTorch samples/s | ratio | runs (strand / PyTorch) | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name in a.models:
        for mode in a.modes:
            for precision in a.precisions:
                ours, theirs, loads = [], [], []
                for _ in range(a.repeats):
                    loads.append(os.getloadavg()[0])
                    theirs.append(torch_case(name, mode, precision, a.min_time))
                    ours.append(strand_case(bench, name, mode, precision, a.threads))
                s, t = statistics.median(ours), statistics.median(theirs)
                runs = ", ".join(f"{o:.1f}/{q:.1f}" for o, q in zip(ours, theirs))
                print(f"| {name} | {mode} | {precision} | {s:.1f} | {t:.1f} | {s / t:.2f} | {runs} | "
                      f"{min(loads):.1f}-{max(loads):.1f} |", flush=True)
    print(f"\n# {(time.monotonic() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
