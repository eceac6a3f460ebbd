"""strand from Python in one minute: simulate a motif dataset, train, predict, score.

    pip install .                      # from the strand repository (see README)
    python examples/python/quickstart.py [OUT]
"""
import sys
from pathlib import Path

import numpy as np

import strand

out = Path(sys.argv[1] if len(sys.argv) > 1 else "quickstart-run")

# 1. Data: 2000 sequences of 200 bp with two tasks (CTCF; SP1 AND CREB), train/valid/test split.
data = strand.simulate(out=out / "data", sequences=2000, length=200, seed=1)

# 2. Train as `strand train` does (leakage check, calibration; baseline=True also fits the
#    baselines and compares): returns what OUT/run/metrics.json holds.
metrics = strand.train(fasta=data["fasta"], labels=data["labels_path"], out=out / "run",
                       model="cnn-small", epochs=3, seed=1, bootstrap=200, baseline=False,
                       quiet=True)
print("valid AUROC per task:",
      {t: round(m["auroc"], 3) for t, m in metrics["valid"]["tasks"].items()})

# 3. Predict (uint8 codes [N, L] or one-hot [N, 4, L]), averaging both strands.
model = strand.load_model(out / "run" / "model.safetensors")
test = np.array([s == "test" for s in data["split"]])
scores = model.predict(data["codes"][test], rc_average=True)

# 4. The metric panel with bootstrap intervals, on the test rows.
panel = strand.metrics(data["labels"][test], scores, tasks=model.tasks, bootstrap=200)
for task, m in panel["tasks"].items():
    print(f"{task}: AUROC {m['auroc']:.3f}, AUPRC {m['auprc']:.3f}")
