#!/usr/bin/env python3
# Reference epsilons for tests/rules/privacy_accountant_test.cpp: Google's dp_accounting (RDP and
# PLD accountants) and Opacus's RDP analysis, on a grid of (q, sigma, steps, delta) for the
# Poisson-subsampled Gaussian. Writes privacy_reference.json beside this script, and the same text
# as a C++ raw string in privacy_reference.inc, which the test includes (no path lookup at run
# time).
#
# Made with (dp-accounting 0.6.0, opacus 1.6.0; opacus's rdp.py is loaded from the wheel without
# importing torch, it needs only numpy and scipy):
#   python3 -m venv /work/.venv-dp && /work/.venv-dp/bin/pip install dp-accounting==0.6.0
#   /work/.venv-dp/bin/pip download --no-deps opacus==1.6.0 -d /tmp/dpwheel
#   /work/.venv-dp/bin/python tests/rules/data/make_privacy_reference.py \
#       --opacus-wheel /tmp/dpwheel/opacus-1.6.0-py3-none-any.whl
import argparse
import importlib.util
import json
import logging
import os
import sys
import tempfile
import time
import zipfile

import dp_accounting
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

# RDP is cheap: a wide grid. PLD is slow in Python for many steps: a smaller one.
RDP_GRID = [(q, s, n, d)
            for q in (0.001, 0.01, 0.05, 0.25, 1.0)
            for s in (0.6, 1.0, 2.0, 5.0)
            for n in (1, 100, 1000, 10000)
            for d in (1e-5, 1e-7)]
PLD_GRID = [(q, s, n, d)
            for q in (0.001, 0.01, 0.1)
            for s in (0.8, 1.0, 2.0)
            for n in (1, 100, 1000)
            for d in (1e-5,)] + [(1.0, 1.0, 10, 1e-5), (1.0, 3.0, 100, 1e-6),
                                 (0.004, 1.1, 10000, 1e-5), (0.02, 0.9, 3000, 1e-6)]


def load_opacus_rdp(wheel):
    with zipfile.ZipFile(wheel) as z:
        source = z.read("opacus/accountants/analysis/rdp.py")
    path = os.path.join(tempfile.mkdtemp(), "opacus_rdp.py")
    with open(path, "wb") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("opacus_rdp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DroppedOrders(logging.Handler):
    """Counts dp_accounting's 'failed to converge ... Excluding this order' warnings: its
    fractional-order series sums absolute terms and can stall where Opacus's signed one converges;
    such rows get a larger epsilon there, so the test compares them with Opacus only."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "failed to converge" in record.getMessage():
            self.count += 1


def event(q, sigma):
    return dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opacus-wheel", required=True)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "privacy_reference.json"))
    args = parser.parse_args()
    opacus_rdp = load_opacus_rdp(args.opacus_wheel)
    opacus_orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))  # DEFAULT_ALPHAS

    dropped = DroppedOrders()
    logging.getLogger().addHandler(dropped)
    logging.getLogger("absl").addHandler(dropped)
    rdp_rows = []
    for q, s, n, d in RDP_GRID:
        dropped.count = 0
        acc = rdp_privacy_accountant.RdpAccountant()
        acc.compose(event(q, s), n)
        rdp = opacus_rdp.compute_rdp(q=q, noise_multiplier=s, steps=n, orders=opacus_orders)
        # dp_accounting sums the fractional-order series in absolute value, Opacus with signs
        # (Mironov et al. 2019, Sec. 3.3). Flag rows where that alone moves dp_accounting's
        # epsilon (same orders, same conversion) by over 0.1%: its value there is an upper bound,
        # not the value, and the test holds ours to Opacus instead.
        theirs = rdp_privacy_accountant._compute_rdp_poisson_subsampled_gaussian(
            q, s, opacus_orders) * n
        eps_series, _ = rdp_privacy_accountant.compute_epsilon(opacus_orders, theirs, d)
        eps_opacus, _ = opacus_rdp.get_privacy_spent(orders=opacus_orders, rdp=rdp, delta=d)
        differs = bool(abs(eps_series - eps_opacus) > 1e-3 * eps_opacus)
        rdp_rows.append({"q": q, "sigma": s, "steps": n, "delta": d,
                         "dp_accounting": acc.get_epsilon(d), "opacus": float(eps_opacus),
                         "dp_accounting_dropped_orders": dropped.count,
                         "dp_accounting_series_differs": differs})

    pld_rows = []
    for q, s, n, d in PLD_GRID:
        start = time.time()
        acc = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-4)
        acc.compose(event(q, s), n)
        eps = acc.get_epsilon(d)
        pld_rows.append({"q": q, "sigma": s, "steps": n, "delta": d, "dp_accounting": eps})
        print(f"pld q={q} sigma={s} steps={n} delta={d}: {eps:.6g} ({time.time() - start:.1f} s)",
              file=sys.stderr)

    from importlib.metadata import version
    text = json.dumps({"generator": "tests/rules/data/make_privacy_reference.py",
                       "dp_accounting_version": version("dp-accounting"),
                       "opacus_version": os.path.basename(args.opacus_wheel).split("-")[1],
                       "pld_value_discretization_interval": 1e-4,
                       "rdp": rdp_rows, "pld": pld_rows}, indent=1) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".inc", "w") as f:
        f.write("// Generated by make_privacy_reference.py from privacy_reference.json; do not edit.\n")
        f.write('R"json(' + text + ')json"\n')


if __name__ == "__main__":
    main()
