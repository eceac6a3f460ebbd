#!/usr/bin/env python3
"""How well attributions find planted motifs: AUROC of each base's attribution (at its observed
base) for "inside a planted site the task's rule uses" against every other base, over the
sequences positive for the task. Reads what `strand simulate` and `strand interpret attributions`
wrote (numpy only):

    python3 bench/attribution_auroc.py SIM_DIR ATTR_DIR
"""
import json
import sys

import numpy as np


def auroc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels.sum()
    neg = len(labels) - pos
    return (ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg)


def main(sim_dir, attr_dir):
    truth = json.load(open(f"{sim_dir}/ground_truth.json"))
    attributions = np.load(f"{attr_dir}/attributions.npy")  # [N, T, 4, L]
    rows = [line.split("\t") for line in open(f"{attr_dir}/summary.tsv").read().splitlines()[1:]]
    names = list(dict.fromkeys(r[0] for r in rows))
    tasks = list(dict.fromkeys(r[1] for r in rows))
    by_name = {s["name"]: s for s in truth["sequences"]}
    rules = {t["name"]: {t["a"], t.get("b", t["a"])} for t in truth["tasks"]}
    for ti, task in enumerate(tasks):
        scores, labels = [], []
        for i, name in enumerate(names):
            seq = by_name[name]
            if seq["labels"].get(task) != 1:
                continue
            inside = np.zeros(attributions.shape[-1], dtype=bool)
            for site in seq["planted"]:
                if site["motif"] in rules[task]:
                    inside[site["start"]:site["end"]] = True
            scores.append(attributions[i, ti].sum(axis=0))  # the observed base's contribution
            labels.append(inside)
        scores, labels = np.concatenate(scores), np.concatenate(labels)
        print(f"{task}: AUROC {auroc(scores, labels):.4f} over {len(labels)} bases of "
              f"{len(labels) // attributions.shape[-1]} positive sequences "
              f"({labels.sum()} inside planted sites)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
