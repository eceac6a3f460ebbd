#!/usr/bin/env python3
"""Data-parallel scaling model for DeepSEA and DanQ (bench/RESULTS.md, "Scaling model").

Efficiency = T_c / (T_c + exposed): T_c is one GPU's step time at the per-GPU batch, `exposed` the
part of the gradient all-reduce still running when backward ends. The buckets are those strand's
GradReducer forms (reverse registration order, --bucket-mb cap, a tensor larger than the cap alone),
launched when backward produces their last gradient, run one after another on the communication
stream; each costs the ring all-reduce time of nccl-tests' bus bandwidth:
    t(S, n) = alpha(n) + 2 (n - 1) / n * S / busbw(n).
Every input below is an assumption stated in RESULTS.md; T_c is an ESTIMATE until a GPU step time
is measured (bench_train on the GPU machine): pass --deepsea-step-ms / --danq-step-ms to refill.
"""
import argparse

# Parameter shapes from layers/models.cpp at the published input length 1000 and 919 outputs (the
# counts equal bench_train_data_parallel's `params` counter: 52.8431M and 46.929M). In backward order.
DEEPSEA = {
    "params": [("fc2", 925 * 919 + 919), ("fc1", 50880 * 925 + 925), ("conv3", 480 * 960 * 8 + 960),
               ("conv2", 320 * 480 * 8 + 480), ("conv1", 4 * 320 * 8 + 320)],
    # forward FLOPs per example of each layer (backward ~ 2x), same order
    "flops": [2 * 925 * 919, 2 * 50880 * 925, 2 * 480 * 960 * 8 * 53, 2 * 320 * 480 * 8 * 241,
              2 * 4 * 320 * 8 * 993],
    "tflops": 50.0,  # ESTIMATE: effective TF32 throughput of the whole step on one H100
}
DANQ = {
    "params": [("fc2", 925 * 919 + 919), ("fc1", 48000 * 925 + 925),
               ("lstm", 2 * (4 * 320 * (320 + 320) + 2 * 4 * 320)), ("conv1", 4 * 320 * 26 + 320)],
    "flops": [2 * 925 * 919, 2 * 48000 * 925, 2 * 75 * 2 * 4 * 320 * 640, 2 * 4 * 320 * 26 * 975],
    "tflops": 15.0,  # ESTIMATE: LSTM steps at small batch are latency-bound
}
OVERHEAD_MS = 0.5  # ESTIMATE: launches, loss, optimiser per step

# Fabric: (bus bandwidth GB/s, fixed latency us) by GPU count. 8 = one node, NVLink/NVSwitch;
# 64 and 512 = 8 and 64 nodes over 400 Gb/s InfiniBand, one NIC per GPU.
FABRIC = {8: (400.0, 50.0), 64: (45.0, 100.0), 512: (45.0, 200.0)}


def buckets(params, cap_bytes, bytes_per_elem):
    out, filled = [], 0.0
    for i, (_, n) in enumerate(params):
        size = n * bytes_per_elem
        if not out or filled + size > cap_bytes:
            out.append([])
            filled = 0.0
        out[-1].append(i)
        filled += size
    return out


def efficiency(model, n, batch, step_ms, cap_mb, bytes_per_elem):
    busbw, alpha_us = FABRIC[n]
    flops = model["flops"]
    total = sum(flops)
    t_c = step_ms if step_ms else OVERHEAD_MS + batch * 3 * total / (model["tflops"] * 1e9)
    t_bwd = t_c * 2.0 / 3.0
    # backward walks the layers in this order; layer i's gradient is ready after its share
    done_at, elapsed = [], 0.0
    for f in flops:
        elapsed += t_bwd * f / total
        done_at.append(elapsed)
    free = 0.0  # when the communication stream is next idle (ms from the start of backward)
    comm = 0.0
    for b in buckets(model["params"], cap_mb * 2**20, bytes_per_elem):
        size = sum(model["params"][i][1] for i in b) * bytes_per_elem
        t = alpha_us / 1e3 + 2 * (n - 1) / n * size / (busbw * 1e9) * 1e3
        start = max(done_at[b[-1]], free)
        free = start + t
        comm += t
    exposed = max(0.0, free - t_bwd)
    return t_c, comm, exposed, t_c / (t_c + exposed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deepsea-step-ms", type=float, default=0.0,
                    help="measured one-GPU step time at the per-GPU batch (replaces the estimate)")
    ap.add_argument("--danq-step-ms", type=float, default=0.0)
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--bucket-mb", type=float, default=25.0)
    args = ap.parse_args()
    print("| model | batch/GPU | gradients | T_c ms (est.) | GPUs | all-reduce ms | exposed ms "
          "| efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    for name, model, measured in (("DeepSEA", DEEPSEA, args.deepsea_step_ms),
                                  ("DanQ", DANQ, args.danq_step_ms)):
        for batch in args.batch:
            for label, width in (("fp32", 4), ("bf16", 2)):
                for n in (8, 64, 512):
                    t_c, comm, exposed, eff = efficiency(model, n, batch, measured, args.bucket_mb,
                                                         width)
                    print(f"| {name} | {batch} | {label} | {t_c:.1f} | {n} | {comm:.2f} | "
                          f"{exposed:.2f} | {100 * eff:.0f}% |")


if __name__ == "__main__":
    main()
