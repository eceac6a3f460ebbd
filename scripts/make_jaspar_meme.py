#!/usr/bin/env python3
"""Writes JASPAR's CORE non-redundant vertebrate collection as a MEME motif file.

JASPAR (https://jaspar.elixir.no) is released under CC BY 4.0; the pyjaspar package (PyPI, MIT)
ships its releases as SQLite files, so no network access to JASPAR itself is needed.
"Non-redundant" follows JASPAR's downloads: the latest version of each matrix.

    python3 -m venv .venv && .venv/bin/pip install pyjaspar==4.0.0
    .venv/bin/python scripts/make_jaspar_meme.py data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme

The probabilities are the counts divided by the column total (no pseudocount; strand adds its
own where it takes logarithms), written with 6 decimals as JASPAR's own MEME files are.
"""
import argparse
import sys

import pyjaspar
from pyjaspar import jaspardb

ATTRIBUTION = """\
JASPAR release {release}, CORE collection, vertebrates, non-redundant (latest version of each matrix), {count} motifs.
Source: JASPAR, https://jaspar.elixir.no, licensed under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/). Converted unchanged (counts to frequencies)
to MEME format by strand's scripts/make_jaspar_meme.py from the SQLite database shipped by
pyjaspar {pyjaspar} (PyPI). Please cite the JASPAR release you use (see https://jaspar.elixir.no)."""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="MEME file to write")
    ap.add_argument("--release", default=pyjaspar.JASPAR_LATEST_RELEASE,
                    help="JASPAR release (default: the latest pyjaspar has)")
    args = ap.parse_args()
    db = jaspardb(release=args.release)
    motifs = db.fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False)
    motifs = sorted(motifs, key=lambda m: m.matrix_id)
    if not motifs:
        sys.exit(f"no CORE vertebrate motifs in {args.release}")
    text = ATTRIBUTION.format(release=args.release, count=len(motifs),
                              pyjaspar=pyjaspar.__version__)
    lines = ["MEME version 4", ""]
    # MEME files have no comment syntax: the attribution goes in the README beside the file.
    lines += ["ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies",
              "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for m in motifs:
        counts = [m.counts[b] for b in "ACGT"]
        width = len(counts[0])
        nsites = round(sum(counts[b][0] for b in range(4)))
        name = m.name.replace(" ", "_")
        lines.append(f"MOTIF {m.matrix_id} {name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {width} nsites= {nsites} E= 0")
        for j in range(width):
            total = sum(counts[b][j] for b in range(4))
            lines.append("  " + "  ".join(f"{counts[b][j] / total:.6f}" for b in range(4)))
        lines.append(f"URL https://jaspar.elixir.no/matrix/{m.matrix_id}/")
        lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {len(motifs)} motifs of {args.release} to {args.out}")
    print("attribution for the README beside it:\n" + text)


if __name__ == "__main__":
    main()
