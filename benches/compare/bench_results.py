"""What the comparison scripts share: the machine's CPU model, and writing their figures as
JSON under benches/compare/results/."""

import json
import os
import platform
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_features():
    """The CPU's vector and matrix extensions that decide libtorch's kernels (/proc/cpuinfo)."""
    wanted = ["avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16"]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in have]
    except OSError:
        pass
    return []


def write_results(results, name, path=None):
    """Writes `results` to `path`, by default results/<name>_<results['date']>.json."""
    path = path or os.path.join(RESULTS, f"{name}_{results['date']}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nfigures in {path}", file=sys.stderr)
