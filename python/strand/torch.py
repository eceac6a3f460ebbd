"""PyTorch twins of strand models, so a strand model works with Captum, tangermeme or any PyTorch
pipeline, and PyTorch weights of a matching architecture come back into strand.

The twin is built from strand's own description of the model (``Model.describe()``: each layer's
type, arguments and names), not from a hand-written copy, so every strand model has one: the zoo
(cnn, cnn-aligned, cnn-small, deepsea, basset, basset-groupnorm, danq) and YAML model files alike.
strand's state_dict names and layouts are PyTorch's, so the weights load unchanged.

    >>> import strand, strand.torch
    >>> net = strand.torch.module("run/model.safetensors")   # nn.Module in eval mode
    >>> logits = net(torch.from_numpy(strand.one_hot(codes)))  # [N, 4, L] float32 -> [N, outputs]
    >>> strand.torch.save(net.state_dict(), "tuned.safetensors", like="run/model.safetensors")

The twin outputs logits (the sigmoid or softmax belongs to the loss, as in strand); it takes the
float one-hot [N, 4, L], not base codes. Requires torch (``pip install torch``). With a CUDA
build of strand and a CUDA build of torch, import torch before strand: both link NCCL under one
soname and the one loaded first serves both (torch needs its own, newer one).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Union

import torch
from torch import nn

import strand

__all__ = ["module", "build", "save", "SumOfBranches", "Permute", "LSTM", "GRU"]


class Permute(nn.Module):
    """Reorders dimensions (strand's Permute; DanQ turns [N, C, L] into the LSTM's [N, L, C])."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(*self.dims)


class LSTM(nn.LSTM):
    """nn.LSTM returning only the output sequence, as strand's LSTM layer does (same names)."""

    def forward(self, x):
        return super().forward(x)[0]


class GRU(nn.GRU):
    """nn.GRU returning only the output sequence, as strand's GRU layer does (same names)."""

    def forward(self, x):
        return super().forward(x)[0]


class SumOfBranches(nn.Module):
    """Runs every branch (children "0", "1", ...) on the same input and adds their outputs. In
    training, a branch with drop > 0 is left out of the sum for that random fraction of the
    examples (whole examples, no rescaling), as strand's branch dropout; in eval all count."""

    def __init__(self, branches, drop):
        super().__init__()
        for i, b in enumerate(branches):
            self.add_module(str(i), b)
        self.drop = list(drop)

    def forward(self, x):
        out = None
        for branch, drop in zip(self.children(), self.drop):
            y = branch(x)
            if self.training and drop > 0:
                keep = (torch.rand(y.shape[0], device=y.device) >= drop).to(y.dtype)
                y = y * keep.view(-1, *([1] * (y.dim() - 1)))
            out = y if out is None else out + y
        return out


def _layer(d: Mapping[str, Any]) -> nn.Module:
    t = d["type"]
    children = [_layer(c) for _, c in d.get("children", [])]
    if t == "Sequential":
        return nn.Sequential(*children)
    if t == "SumOfBranches":
        return SumOfBranches(children, d["drop"])
    if t == "Conv1d":
        return nn.Conv1d(d["in_channels"], d["out_channels"], d["kernel_size"], stride=d["stride"],
                         padding=d["padding"], dilation=d["dilation"], groups=d["groups"],
                         bias=d["bias"])
    if t == "Linear":
        return nn.Linear(d["in_features"], d["out_features"], bias=d["bias"])
    if t in ("MaxPool1d", "AvgPool1d"):
        return getattr(nn, t)(d["kernel_size"], stride=d["stride"], padding=d["padding"])
    if t == "BatchNorm1d":
        return nn.BatchNorm1d(d["num_features"], eps=d["eps"], momentum=d["momentum"])
    if t == "LayerNorm":
        return nn.LayerNorm(d["normalized_shape"], eps=d["eps"])
    if t == "GroupNorm":
        return nn.GroupNorm(d["num_groups"], d["num_channels"], eps=d["eps"])
    if t == "Dropout":
        return nn.Dropout(d["p"])
    if t == "Flatten":
        return nn.Flatten(d["start_dim"], d["end_dim"])
    if t == "Permute":
        return Permute(d["dims"])
    if t in ("LSTM", "GRU"):
        cls = LSTM if t == "LSTM" else GRU
        return cls(d["input_size"], d["hidden_size"], num_layers=d["num_layers"], bias=d["bias"],
                   batch_first=d["batch_first"], dropout=d["dropout"],
                   bidirectional=d["bidirectional"])
    if t in ("ReLU", "Sigmoid", "Tanh", "GELU", "Softplus"):
        return getattr(nn, t)()
    raise strand.StrandError(f"strand.torch: no PyTorch layer for strand layer {t}")


def _model(model: Union["strand.Model", str, "os.PathLike[str]"]) -> "strand.Model":
    return model if isinstance(model, strand.Model) else strand.load_model(model)


def build(model: Union["strand.Model", str, "os.PathLike[str]", Mapping[str, Any]]) -> nn.Module:
    """The PyTorch twin of a strand model's architecture, with PyTorch's initial weights. model:
    a Model, a model file, or an info dict such as ``{"name": "deepsea", "length": 1000,
    "outputs": 919, "kind": "binary", "tasks": [...]}`` (a YAML model file's path as the name)."""
    if isinstance(model, Mapping):
        return _layer(strand._strand.describe_info(_full_info(model)))
    return _layer(_model(model).describe())


def _full_info(info: Mapping[str, Any]) -> dict:
    """An info dict with the defaults filled: tasks t0.. and kind binary, the YAML spec read."""
    d = dict(info)
    d.setdefault("kind", "binary")
    d.setdefault("tasks", [f"t{i}" for i in range(int(d["outputs"]))])
    name = str(d["name"])
    if "spec" not in d and name.endswith((".yaml", ".yml")):
        with open(name) as f:
            d["spec"] = f.read()
    return d


def module(model: Union["strand.Model", str, "os.PathLike[str]"]) -> nn.Module:
    """The PyTorch twin of a strand model (a Model or a model file) holding its weights (loaded
    strictly: every name and shape), in eval mode."""
    m = _model(model)
    net = _layer(m.describe())
    net.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()}, strict=True)
    return net.eval()


def save(weights: Union[nn.Module, Mapping[str, Any]], path: Union[str, "os.PathLike[str]"],
         like: Union["strand.Model", str, "os.PathLike[str]", Mapping[str, Any]]) -> None:
    """Writes PyTorch weights (a module or its state_dict) of a matching architecture as a strand
    model file that ``strand predict`` and :func:`strand.load_model` read. like: the strand model
    (or model file, or info dict) whose architecture the weights fit."""
    state = weights.state_dict() if isinstance(weights, nn.Module) else weights
    like = _full_info(like) if isinstance(like, Mapping) else _model(like)
    strand.save_model(path, state, like)
