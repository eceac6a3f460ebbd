#!/usr/bin/env python3
"""Writes torch_interop.safetensors: PyTorch state_dicts (PyTorch's names and layouts) of three
small models, fixed inputs and the outputs an independent numpy implementation of PyTorch's
semantics gives, for tests/layers/torch_interop_test.cpp.

    python3 tests/layers/data/make_torch_interop.py            # (re)writes the fixture (numpy only)
    python3 tests/layers/data/make_torch_interop.py --check F  # reads a strand-written state_dict
                                                               # F as this script's loader would

With PyTorch installed, the numpy outputs are also checked against real torch modules holding the
same weights (and --check loads F into them with load_state_dict(strict=True)).

Models (tensor names carry the model's prefix; "<prefix>.input" / ".expected" are the data):
  cnn.   nn.Sequential(Conv1d(4, 6, 5, padding=2), ReLU, MaxPool1d(2), Conv1d(6, 4, 3), ReLU,
                       Flatten, Linear(24, 3)) on one-hot DNA [3, 4, 16] (also as u8 codes,
                       cnn.input_codes: N = 0.25 in every channel)
  lstm.  nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True) on [2, 7, 5]
  gru.   nn.GRU(5, 3, bidirectional=True, batch_first=True) on [2, 6, 5]
  norm.  nn.Sequential(Conv1d(4, 6, 3), BatchNorm1d(6) (eval, running statistics), ReLU,
                       GroupNorm(3, 6), Flatten, Linear(48, 8), LayerNorm(8), Tanh, Linear(8, 2))
                       on [3, 4, 10]
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "torch_interop.safetensors"
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


# ---- safetensors, written and read by hand (the format: 8-byte header length, JSON, raw data)
def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": CODES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=DTYPES[e["dtype"]]).reshape(
            e["shape"])
    return out


def load_state_dict(expected, given):
    """Strict, as torch's load_state_dict: the same names, shapes and dtypes."""
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
    for name, array in expected.items():
        assert given[name].shape == array.shape, f"{name}: {given[name].shape} vs {array.shape}"
        assert given[name].dtype == array.dtype, f"{name}: {given[name].dtype} vs {array.dtype}"
    return {name: given[name] for name in expected}


# ---- PyTorch's semantics in numpy (float64)
def conv1d(x, w, b, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    k = w.shape[2]
    length = x.shape[2] - k + 1
    cols = np.stack([x[:, :, j:j + length] for j in range(k)], axis=3)  # [N, C, L, K]
    return np.einsum("nclk,ock->nol", cols, w) + b[None, :, None]


def max_pool1d(x, k):
    n, c, length = x.shape
    return x[:, :, :length // k * k].reshape(n, c, length // k, k).max(axis=3)


def linear(x, w, b):
    return x @ w.T + b


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def batch_norm_eval(x, w, b, mean, var, eps=1e-5):
    return (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + eps) * w[None, :, None] + \
        b[None, :, None]


def group_norm(x, groups, w, b, eps=1e-5):
    n, c, length = x.shape
    g = x.reshape(n, groups, -1)
    g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)
    return g.reshape(n, c, length) * w[None, :, None] + b[None, :, None]


def layer_norm(x, w, b, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def lstm_direction(x, p, sfx, reverse):
    w_ih, w_hh, b_ih, b_hh = (p[f"{k}{sfx}"] for k in ("weight_ih", "weight_hh", "bias_ih",
                                                         "bias_hh"))
    n, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h, c = np.zeros((n, hidden)), np.zeros((n, hidden))
    out = np.zeros((n, steps, hidden))
    for t in (reversed(range(steps)) if reverse else range(steps)):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(gates, 4, axis=1)  # PyTorch's gate order
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


def gru_direction(x, p, sfx, reverse):
    w_ih, w_hh, b_ih, b_hh = (p[f"{k}{sfx}"] for k in ("weight_ih", "weight_hh", "bias_ih",
                                                         "bias_hh"))
    n, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h = np.zeros((n, hidden))
    out = np.zeros((n, steps, hidden))
    for t in (reversed(range(steps)) if reverse else range(steps)):
        xi = np.split(x[:, t] @ w_ih.T + b_ih, 3, axis=1)  # r, z, n
        hh = np.split(h @ w_hh.T + b_hh, 3, axis=1)
        r, z = sigmoid(xi[0] + hh[0]), sigmoid(xi[1] + hh[1])
        cand = np.tanh(xi[2] + r * hh[2])
        h = (1 - z) * cand + z * h
        out[:, t] = h
    return out


def rnn(x, p, layers, direction):
    for layer in range(layers):
        x = np.concatenate([direction(x, p, f"_l{layer}", False),
                            direction(x, p, f"_l{layer}_reverse", True)], axis=2)
    return x


# ---- the models: weights as PyTorch initialises them (uniform +-1/sqrt(fan_in)), float32
def uniform(rng, shape, fan_in):
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def conv_params(rng, prefix, cin, cout, k):
    return {f"{prefix}.weight": uniform(rng, (cout, cin, k), cin * k),
            f"{prefix}.bias": uniform(rng, (cout,), cin * k)}


def linear_params(rng, prefix, fin, fout):
    return {f"{prefix}.weight": uniform(rng, (fout, fin), fin),
            f"{prefix}.bias": uniform(rng, (fout,), fin)}


def rnn_params(rng, gates, input_size, hidden, layers):
    p = {}
    for layer in range(layers):
        size = input_size if layer == 0 else 2 * hidden
        for sfx in (f"_l{layer}", f"_l{layer}_reverse"):
            p[f"weight_ih{sfx}"] = uniform(rng, (gates * hidden, size), hidden)
            p[f"weight_hh{sfx}"] = uniform(rng, (gates * hidden, hidden), hidden)
            p[f"bias_ih{sfx}"] = uniform(rng, (gates * hidden,), hidden)
            p[f"bias_hh{sfx}"] = uniform(rng, (gates * hidden,), hidden)
    return p


def one_hot(codes):
    out = np.zeros((codes.shape[0], 4, codes.shape[1]), dtype=np.float32)
    for ch in range(4):
        out[:, ch] = codes == ch
    out[:, :, :][np.broadcast_to((codes == 4)[:, None, :], out.shape)] = 0.25
    return out


def f64(p):
    return {k: v.astype(np.float64) for k, v in p.items()}


def make():
    rng = np.random.default_rng(2024)
    models = {}

    p = {**conv_params(rng, "0", 4, 6, 5), **conv_params(rng, "3", 6, 4, 3),
         **linear_params(rng, "6", 24, 3)}
    codes = rng.integers(0, 5, (3, 16)).astype(np.uint8)
    x = one_hot(codes)
    d = f64(p)
    h = max_pool1d(relu(conv1d(x.astype(np.float64), d["0.weight"], d["0.bias"], 2)), 2)
    h = relu(conv1d(h, d["3.weight"], d["3.bias"])).reshape(3, -1)
    models["cnn"] = (p, x, linear(h, d["6.weight"], d["6.bias"]), {"input_codes": codes})

    p = rnn_params(rng, 4, 5, 4, 2)
    x = rng.standard_normal((2, 7, 5)).astype(np.float32)
    models["lstm"] = (p, x, rnn(x.astype(np.float64), f64(p), 2, lstm_direction), {})

    p = rnn_params(rng, 3, 5, 3, 1)
    x = rng.standard_normal((2, 6, 5)).astype(np.float32)
    models["gru"] = (p, x, rnn(x.astype(np.float64), f64(p), 1, gru_direction), {})

    p = {**conv_params(rng, "0", 4, 6, 3),
         "1.weight": rng.uniform(0.5, 1.5, 6).astype(np.float32),
         "1.bias": rng.uniform(-0.5, 0.5, 6).astype(np.float32),
         "1.running_mean": rng.uniform(-0.3, 0.3, 6).astype(np.float32),
         "1.running_var": rng.uniform(0.5, 2.0, 6).astype(np.float32),
         "1.num_batches_tracked": np.array(17, dtype=np.int64),
         "3.weight": rng.uniform(0.5, 1.5, 6).astype(np.float32),
         "3.bias": rng.uniform(-0.5, 0.5, 6).astype(np.float32),
         **linear_params(rng, "5", 48, 8),
         "6.weight": rng.uniform(0.5, 1.5, 8).astype(np.float32),
         "6.bias": rng.uniform(-0.5, 0.5, 8).astype(np.float32),
         **linear_params(rng, "8", 8, 2)}
    x = rng.standard_normal((3, 4, 10)).astype(np.float32)
    d = f64(p)
    h = conv1d(x.astype(np.float64), d["0.weight"], d["0.bias"])
    h = relu(batch_norm_eval(h, d["1.weight"], d["1.bias"], d["1.running_mean"],
                             d["1.running_var"]))
    h = group_norm(h, 3, d["3.weight"], d["3.bias"]).reshape(3, -1)
    h = np.tanh(layer_norm(linear(h, d["5.weight"], d["5.bias"]), d["6.weight"], d["6.bias"]))
    models["norm"] = (p, x, linear(h, d["8.weight"], d["8.bias"]), {})
    return models


def torch_modules():
    import torch.nn as nn
    return {
        "cnn": nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
                             nn.Conv1d(6, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(24, 3)),
        "lstm": nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True),
        "gru": nn.GRU(5, 3, bidirectional=True, batch_first=True),
        "norm": nn.Sequential(nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6), nn.ReLU(), nn.GroupNorm(3, 6),
                              nn.Flatten(), nn.Linear(48, 8), nn.LayerNorm(8), nn.Tanh(),
                              nn.Linear(8, 2)),
    }


def check_with_torch(models):
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: numpy reference only")
        return
    for name, module in torch_modules().items():
        p, x, expected, _ = models[name]
        module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in p.items()},
                               strict=True)
        module.eval()
        with torch.no_grad():
            out = module(torch.from_numpy(x))
        out = out[0] if isinstance(out, tuple) else out
        err = np.abs(out.numpy() - expected).max()
        assert err < 1e-5, f"{name}: torch and numpy differ by {err}"
        print(f"{name}: torch agrees with numpy (max |diff| {err:.2e})")


def check_file(path):
    """Reads a strand-written file holding one or more of the models under their prefixes."""
    given = read_safetensors(path)
    models = make()
    found = 0
    for name, (p, _, _, _) in models.items():
        sub = {k[len(name) + 1:]: v for k, v in given.items() if k.startswith(name + ".")}
        if not sub:
            continue
        load_state_dict(p, sub)
        found += 1
        try:
            import torch
            module = torch_modules()[name]
            module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sub.items()})
        except ImportError:
            pass
        print(f"{name}: {len(sub)} tensors load (names, shapes, dtypes)")
    assert found, f"{path} holds none of the models {list(models)}"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_file(sys.argv[2])
        return
    models = make()
    check_with_torch(models)
    tensors = {}
    for name, (p, x, expected, extra) in models.items():
        for k, v in p.items():
            tensors[f"{name}.{k}"] = v
        tensors[f"{name}.input"] = x
        tensors[f"{name}.expected"] = expected.astype(np.float32)
        for k, v in extra.items():
            tensors[f"{name}.{k}"] = v
    write_safetensors(FIXTURE, tensors, {"made_by": "tests/layers/data/make_torch_interop.py"})
    print(f"wrote {FIXTURE} ({len(tensors)} tensors)")


if __name__ == "__main__":
    main()
