#!/usr/bin/env python3
"""Writes deeplift_fixture.safetensors: a small CNN's weights in strand's (= PyTorch's) state_dict
names and layouts, one-hot inputs, dinucleotide-shuffled references, and the DeepLIFT/DeepSHAP
attributions and hypothetical contributions tangermeme's deep_lift_shap gives for them, for
tests/interpret/deeplift_tangermeme_test.cpp. Everything is float64.

    .venv/bin/python tests/interpret/data/make_deeplift_fixture.py
        # a venv with `pip install torch tangermeme` (git-ignored); writes the fixture
    .venv/bin/python tests/interpret/data/make_deeplift_fixture.py --weights model.safetensors
        # the same model's attributions from weights strand wrote (its state_dict)

Model (tensor names "model.<state_dict name>"): nn.Sequential(Conv1d(4, 8, 7, padding=3), ReLU,
MaxPool1d(3, 2) (overlapping windows), Conv1d(8, 6, 4), ReLU, MaxPool1d(2), Flatten,
Linear(48, 10), ReLU, Linear(10, 2)) on one-hot DNA [4, 4, 40]; 5 references per sequence.
Data: "input" [4, 4, 40], "references" [4, 5, 4, 40], "attributions" and "hypothetical"
[4, 2, 4, 40] (sequence, task, base, position: strand's layout).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tangermeme.deep_lift_shap import deep_lift_shap
from tangermeme.ersatz import dinucleotide_shuffle

HERE = Path(__file__).resolve().parent
# The safetensors reader and writer of the interop fixture's script, shared.
sys.path.insert(0, str(HERE.parents[1] / "layers" / "data"))
import make_torch_interop as interop  # noqa: E402

FIXTURE = HERE / "deeplift_fixture.safetensors"
LENGTH, SEQUENCES, REFERENCES = 40, 4, 5


def read_safetensors(path):
    """The file's tensors as float64 (the fixture's precision)."""
    return {name: a.astype(np.float64) for name, a in interop.read_safetensors(path).items()}


def model():
    nn = torch.nn
    return nn.Sequential(nn.Conv1d(4, 8, 7, padding=3), nn.ReLU(), nn.MaxPool1d(3, 2),
                         nn.Conv1d(8, 6, 4), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                         nn.Linear(48, 10), nn.ReLU(), nn.Linear(10, 2))


def random_weights(rng):
    """Uniform in +-2/sqrt(fan_in): wider than PyTorch's default, so ReLUs switch between x and
    the references."""
    state = {}
    for name, p in model().state_dict().items():
        fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else None
        bound = 2.0 / np.sqrt(fan_in if fan_in else 8)
        state[name] = rng.uniform(-bound, bound, size=tuple(p.shape))
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", help="a strand-written state_dict (safetensors)")
    args = parser.parse_args()
    rng = np.random.default_rng(19)
    state = read_safetensors(args.weights) if args.weights else random_weights(rng)
    net = model().double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    net.eval()

    codes = rng.integers(0, 4, size=(SEQUENCES, LENGTH))
    x = np.zeros((SEQUENCES, 4, LENGTH))
    for i in range(SEQUENCES):
        x[i, codes[i], np.arange(LENGTH)] = 1.0
    X = torch.from_numpy(x)
    refs = dinucleotide_shuffle(X, n=REFERENCES, random_state=7).double()  # [N, K, 4, L]
    attributions, hypothetical = [], []
    for task in range(2):
        common = dict(target=task, references=refs, device="cpu", dtype=torch.float64,
                      warning_threshold=1e-6, batch_size=7)
        attributions.append(deep_lift_shap(net, X, hypothetical=False, **common).numpy())
        hypothetical.append(deep_lift_shap(net, X, hypothetical=True, **common).numpy())
    tensors = {f"model.{k}": np.asarray(v, dtype=np.float64) for k, v in state.items()}
    tensors["input"] = x
    tensors["references"] = refs.numpy()
    tensors["attributions"] = np.stack(attributions, axis=1)
    tensors["hypothetical"] = np.stack(hypothetical, axis=1)
    import tangermeme
    interop.write_safetensors(FIXTURE, tensors, {
        "made_by": "tests/interpret/data/make_deeplift_fixture.py",
        "tangermeme": tangermeme.__version__, "torch": torch.__version__})
    print(f"wrote {FIXTURE} (tangermeme {tangermeme.__version__}, torch {torch.__version__})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
