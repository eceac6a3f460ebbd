#!/usr/bin/env python3
"""Writes the safetensors seeds of fuzz/corpus/safetensors/: strand model files of a tiny YAML
model (conv1d, relu, flatten, linear; length 8, 1 output) without the strand.checksum key, so the
fuzzer's edits reach the metadata parsers (the harness loads with STRAND_SKIP_CHECKSUM=1).
Run: python3 fuzz/make_safetensors_seeds.py"""
import json
import os
import struct

SPEC = "layers:\n  - conv1d: {out: 2, kernel: 3}\n  - relu\n  - flatten\n  - linear: {out: outputs}\n"
TENSORS = [("0.weight", [2, 4, 3]), ("0.bias", [2]), ("3.weight", [1, 12]), ("3.bias", [1])]


def write(path, metadata, dtype="F32"):
    header, data = {}, b""
    for name, shape in TENSORS:
        n = 1
        for d in shape:
            n *= d
        values = b"".join(struct.pack("<f", 0.01 * (i + 1)) for i in range(n))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(values)]}
        data += values
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")
model = {"name": "tiny.yaml", "length": 8, "outputs": 1, "kind": "binary", "tasks": ["y"], "spec": SPEC}
base = {
    "strand.format": "model",
    "strand.model": json.dumps(model),
    "strand.training": json.dumps({"epochs": 2, "lr": 0.01, "dp": {"enabled": False}}),
    "strand.seed": "1",
    "strand.data": json.dumps({"a.fa": "1234"}),
    "strand.privacy": json.dumps({"sensitive": True, "dp": True, "epsilon": 3.0, "delta": 1e-5,
                                  "accountant": "rdp", "noise_multiplier": 1.1, "sampling_rate": 0.01,
                                  "max_grad_norm": 1.0, "steps": 100, "sampling": "poisson"}),
}
write(os.path.join(here, "tiny_model.safetensors"), base)
multi = dict(base, **{"strand.model": json.dumps(dict(model, kind="multiclass", outputs=1, tasks=["a", "b"]))})
write(os.path.join(here, "tasks_mismatch.safetensors"), multi)
write(os.path.join(here, "builder_model.safetensors"),
      dict(base, **{"strand.model": json.dumps({"name": "cnn", "length": 8, "outputs": 1,
                                               "kind": "binary", "tasks": ["y"]})}))
# Rule 9's stored calibration (strand train adds it after fitting on validation).
write(os.path.join(here, "calibrated_model.safetensors"),
      dict(base, **{"strand.calibration": json.dumps({
          "method": "Platt scaling (per task)", "a": [0.8], "b": [-0.1], "recommended": True,
          "valid_cross_fitted": {"log_loss_before": 0.5, "log_loss_after": 0.45}})}))
