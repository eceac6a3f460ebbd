#!/usr/bin/env python3
"""Checks the compiled CUDA kernels without a GPU (a ctest entry, cuda_sass_check):
  - every kernel that claims tensor cores has them in its machine code (SASS), for every
    architecture in the library: the custom implicit-GEMM conv1d must show HMMA instructions
    (HMMA.1688.F32.TF32 for its fp32/tf32 modes, HMMA.16816.F32.BF16 for bf16); a kernel that
    compiled to FFMA only would still pass every numeric test, slowly;
  - no strand kernel uses local memory (spills or a stack frame: LOCAL or STACK above 0), the
    same guard as ptxas's --warn-on-spills / --warn-on-local-memory-usage, read from the binary.

  python3 scripts/sass-check.py build/libstrand_kernels.so

cuobjdump and nvdisasm come from PyPI (nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm: scripts/setup.sh
installs them into /opt/strand-tools); STRAND_CUOBJDUMP names another cuobjdump.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

# (what the kernel's mangled name contains, the SASS it must contain, why)
TENSOR_CORE_CLAIMS = [
    ("igemm_kernelILNS3_4ModeE0", r"HMMA\.1688\.F32\.TF32", "conv1d implicit GEMM, 3xTF32 (fp32)"),
    ("igemm_kernelILNS3_4ModeE1", r"HMMA\.1688\.F32\.TF32", "conv1d implicit GEMM, TF32"),
    ("igemm_kernelILNS3_4ModeE2", r"HMMA\.16816\.F32\.BF16", "conv1d implicit GEMM, bf16"),
    # Hopper-only kernels (*_sm90a.cu) exist in the sm_90a code alone: a 4th field names the arch
    # (claims without one hold for every other arch).
    ("conv1d_sm90_kernelIN7cutlass10bfloat16_t", r"HGMMA\.64x128x16\.F32\.BF16",
     "conv1d sm90 wgmma, bf16", "sm_90a"),
    ("conv1d_sm90_kernelIN7cutlass10tfloat32_t", r"HGMMA\.64x128x8\.F32\.TF32",
     "conv1d sm90 wgmma, tf32", "sm_90a"),
    ("conv1d_sm90_kernel", r"UTMALDG\.3D", "conv1d sm90 TMA loads", "sm_90a"),
    ("conv1d_sm90_kernel", r"SYNCS\.", "conv1d sm90 mbarrier pipeline", "sm_90a"),
    ("conv1d_sm90_kernel", r"USETMAXREG", "conv1d sm90 setmaxnreg (producer/consumer)", "sm_90a"),
    ("11gram_kernel", r"HMMA\.1688\.F32\.TF32", "per-sample norm input Gram, 3xTF32"),
    # LSTM/GRU cluster recurrences (rnn_cluster.cu, forward and backward): the recurrent product
    # on tensor cores, one cluster barrier per step (barrier.cluster arrive/wait), h or dgh
    # exchanged by generic stores into the distributed shared-memory window (no descriptor: not
    # global STG).
    ("cluster_forward_kernelIt", r"HMMA\.16816\.F32\.BF16", "rnn cluster forward, bf16"),
    ("cluster_forward_kernelIf", r"HMMA\.1688\.F32\.TF32", "rnn cluster forward, 3xTF32 (fp32)"),
    ("cluster_backward_kernelIt", r"HMMA\.16816\.F32\.BF16", "rnn cluster backward, bf16"),
    ("cluster_backward_kernelIf", r"HMMA\.1688\.F32\.TF32", "rnn cluster backward, 3xTF32"),
    ("cluster_forward_kernel", r"UCGABAR_ARV[\s\S]*UCGABAR_WAIT", "rnn cluster forward, barrier"),
    ("cluster_forward_kernel", r"\bST\.E(\.U16)? \[R\d+\]", "rnn cluster forward, DSMEM stores"),
    ("cluster_backward_kernel", r"UCGABAR_ARV[\s\S]*UCGABAR_WAIT", "rnn cluster backward, barrier"),
    ("cluster_backward_kernel", r"\bST\.E(\.U16)? \[R\d+\]", "rnn cluster backward, DSMEM stores"),
]


def find_cuobjdump():
    candidates = [os.environ.get("STRAND_CUOBJDUMP"), shutil.which("cuobjdump")]
    candidates += sorted(glob.glob("/opt/strand-tools/lib/python3*/site-packages/nvidia/*/bin/cuobjdump"))
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("sass-check: no cuobjdump (scripts/setup.sh installs PyPI's nvidia-cuda-cuobjdump into "
             "/opt/strand-tools; or set STRAND_CUOBJDUMP)")


def run(cuobjdump, *args):
    env = dict(os.environ)
    # nvdisasm sits beside cuobjdump in the PyPI layout; cuobjdump -sass needs it on PATH.
    env["PATH"] = os.path.dirname(cuobjdump) + os.pathsep + env.get("PATH", "")
    r = subprocess.run([cuobjdump, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"sass-check: cuobjdump {' '.join(args)} failed: {r.stderr.strip()[:500]}")
    return r.stdout


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lib = sys.argv[1]
    cuobjdump = find_cuobjdump()
    problems = []

    # SASS: function name -> set of instruction mnemonics, per architecture.
    sass = run(cuobjdump, "-sass", lib)
    functions, arch, current = {}, None, None
    for line in sass.splitlines():
        m = re.match(r"\s*code for (sm_\w+)", line)
        if m:
            arch = m.group(1)
            continue
        m = re.match(r"\s*Function : (\S+)", line)
        if m:
            current = (arch, m.group(1))
            functions[current] = []
            continue
        if current:
            functions[current].append(line)
    archs = sorted({a for a, _ in functions})
    if not functions:
        problems.append(f"no SASS found in {lib} (is it a CUDA build?)")
    for needle, pattern, what, *only in TENSOR_CORE_CLAIMS:
        claim_archs = [a for a in archs if (a == only[0] if only else not a.endswith("a"))]
        for a in claim_archs:
            hits = [(n, body) for (fa, n), body in functions.items() if fa == a and needle in n]
            if not hits:
                problems.append(f"{a}: no kernel named like '{needle}' ({what}): renamed? update "
                                "TENSOR_CORE_CLAIMS")
            for name, body in hits:
                if not re.search(pattern, "\n".join(body)):
                    problems.append(f"{a}: {what}: {name} has no {pattern} (tensor cores unused)")
        if not problems:
            print(f"ok  {what}: {pattern} in every kernel, archs {', '.join(claim_archs)}")

    # Resource usage: local memory (spills, stack frames) in strand's kernels.
    usage = run(cuobjdump, "-res-usage", lib)
    arch, name, checked, before = None, None, 0, len(problems)
    for line in usage.splitlines():
        m = re.match(r"\s*arch = (sm_\w+)", line)
        if m:
            arch = m.group(1)
        m = re.match(r"\s*Function (\S+):", line)
        if m:
            name = m.group(1)
            continue
        m = re.search(r"STACK:(\d+) .*LOCAL:(\d+)", line)
        if m and name and name.startswith("_ZN6strand"):
            checked += 1
            if int(m.group(1)) or int(m.group(2)):
                problems.append(f"{arch}: {name} uses local memory (STACK:{m.group(1)} "
                                f"LOCAL:{m.group(2)}): a run-time-indexed array or spills")
            name = None
    if checked == 0:
        problems.append("no strand kernel found in the resource usage listing")
    elif len(problems) == before:
        print(f"ok  no local memory in {checked} strand kernels (all archs)")

    for p in problems:
        print("FAIL", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
