"""PyTorch twins of strand's DeepSEA, Basset and DanQ (the same layer stacks and state_dict names as
layers/models.cpp; python/tests/test_torch.py checks them against strand.torch, which builds the
twin of any strand model from the library's own description),
shared by the CPU side-by-side (bench/torch_side_by_side.py) and the GPU one
(scripts/torch_train_bench.py). Imports torch: import this module only where torch is present."""
from torch import nn

# name -> (input length, outputs), as bench_train runs them.
MODELS = {"deepsea": (1000, 919), "basset": (600, 164), "danq": (1000, 919)}


class Permute(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 1)


class LSTM(nn.LSTM):  # the output sequence only, as strand's LSTM layer (and its state_dict names)
    def forward(self, x):
        return super().forward(x)[0]


def build(name, length, outputs):
    if name == "deepsea":
        l3 = ((length - 7) // 4 - 7) // 4 - 7
        return nn.Sequential(
            nn.Conv1d(4, 320, 8), nn.ReLU(), nn.MaxPool1d(4), nn.Dropout(0.2),
            nn.Conv1d(320, 480, 8), nn.ReLU(), nn.MaxPool1d(4), nn.Dropout(0.2),
            nn.Conv1d(480, 960, 8), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(),
            nn.Linear(960 * l3, 925), nn.ReLU(), nn.Linear(925, outputs))
    if name == "basset":
        l3 = length // 3 // 4 // 4
        return nn.Sequential(
            nn.Conv1d(4, 300, 19, padding=9), nn.BatchNorm1d(300), nn.ReLU(), nn.MaxPool1d(3),
            nn.Conv1d(300, 200, 11, padding=5), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4),
            nn.Conv1d(200, 200, 7, padding=3), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4),
            nn.Flatten(), nn.Linear(200 * l3, 1000), nn.BatchNorm1d(1000), nn.ReLU(),
            nn.Dropout(0.3), nn.Linear(1000, 1000), nn.BatchNorm1d(1000), nn.ReLU(),
            nn.Dropout(0.3), nn.Linear(1000, outputs))
    if name == "danq":
        l1 = (length - 25) // 13
        return nn.Sequential(
            nn.Conv1d(4, 320, 26), nn.ReLU(), nn.MaxPool1d(13), nn.Dropout(0.2), Permute(),
            LSTM(320, 320, batch_first=True, bidirectional=True),
            nn.Dropout(0.5), nn.Flatten(), nn.Linear(l1 * 640, 925), nn.ReLU(),
            nn.Linear(925, outputs))
    raise ValueError(name)
