"""Every peer comparison of benches/compare/ in one run, on one machine, with one thread count,
and one table of figures and ratios (markdown and JSON) with the CPU model: what
`scripts/compare` runs in its bench venv.

    scripts/compare [--threads 2] [--only step,mnist,loader,features,gradcam,filters]

Comparisons (each script's own docstring says what exactly runs):
- step:     ms per training step, book MNIST and cats-vs-dogs convnets, convkit vs PyTorch eager
            (fp32, channels-last, bf16 autocast, both) vs Keras 3 (float32, mixed_bfloat16),
            with libtorch's operator time per step (compare_step.py --profile): the overhead table;
- mnist:    s per MNIST epoch, convkit vs PyTorch eager vs Keras 3, float32 and fastest;
- loader:   images/s of the augmented JPEG loader (decoding every epoch) vs torchvision's
            DataLoader (plain and with PIL's draft()) and Keras' ImageDataGenerator, and us
            per transform vs albumentations;
- features: EfficientNet-Lite0 features at 224x224 vs PyTorch eager;
- gradcam:  ms per Grad-CAM image vs pytorch-grad-cam;
- filters:  s per filter of filter ascent vs a PyTorch eager loop.

Each script runs as a child of this Python (the bench venv's), its JSON kept in
runs/compare/<date>/; the table goes to benches/compare/results/compare_<date>.{md,json}.
Ratios are "how many times faster convkit is" (above 1: convkit faster).
"""
import argparse
import datetime
import importlib.metadata as md
import json
import os
import subprocess
import sys
import time

from bench_results import RESULTS, cpu_features, cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("CONVKIT_DATA", os.path.join(ROOT, "datasets"))
ALL = ["step", "mnist", "loader", "features", "gradcam", "filters"]


def run_script(name, args, work):
    """Runs benches/compare/<name>.py with `args` plus --json; its parsed JSON."""
    out = os.path.join(work, f"{name}.json")
    cmd = [sys.executable, os.path.join(HERE, f"{name}.py"), *args, "--json", out]
    print(f"\n== {' '.join(cmd)}", file=sys.stderr, flush=True)
    started = time.time()
    env = dict(os.environ, KERAS_BACKEND="torch", CONVKIT_DATA=DATA)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    print(f"== {name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    with open(out) as f:
        return json.load(f)


def jpeg_folder(work_root):
    """The loader's and features' folder: 2,000 JPEGs made from scikit-image's photos."""
    d = os.path.join(work_root, "jpeg2000")
    if not os.path.isdir(os.path.join(d, "cat")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_jpeg_folder.py"), d, "--count", "2000"],
                       check=True)
    return d


def row(comparison, ours_label, ours, peer_label, peer, unit, faster, target=None):
    """One table row; `faster` says which direction is better ("lower" for times, "higher" for
    rates); ratio = how many times faster convkit is."""
    ratio = peer / ours if faster == "lower" else ours / peer
    return {"comparison": comparison, "convkit": ours_label, "convkit_figure": ours, "peer": peer_label,
            "peer_figure": peer, "unit": unit, "ratio": ratio, "target": target,
            "holds": None if target is None else ratio >= target}


def best(rowdict, prefix, lower=True):
    """(config, figure) of the best entry of `rowdict` whose key starts with `prefix`."""
    items = [(k[len(prefix):], v) for k, v in rowdict.items()
             if k.startswith(prefix) and isinstance(v, (int, float))]
    return (min if lower else max)(items, key=lambda kv: kv[1])


def steady(r, prefix):
    """`r`'s figures of the runs whose key starts with `prefix`, each the lower of its timed
    rounds' median and, when profiled, the median of its unobserved rounds between observed
    ones (PyTorch's step measured here ran up to a third faster after torch.profiler had run:
    its fastest figure is kept)."""
    out = {}
    for k, v in r.items():
        if k.startswith(prefix) and isinstance(v, (int, float)):
            prof = r.get(f"{k}_profile") or {}
            out[k] = min(v, prof.get("wall_ms", v))
    return out


def step_rows(step):
    rows, overhead = [], []
    for r in step["rows"]:
        r = dict(r, **steady(r, "convkit_"), **steady(r, "torch_"))
        net = {"mnist": "MNIST convnet", "catdog": "cats-vs-dogs convnet 150x150"}[r["net"]]
        label = f"training step, {net}, batch {r['batch']}"
        c_cfg, c = best(r, "convkit_")
        t_cfg, t = best(r, "torch_")
        rows.append(row(label, f"convkit {c_cfg}", c, f"PyTorch eager {t_cfg}", t, "ms/step", "lower", 1.0))
        rows.append(row(label, f"convkit {c_cfg}", c, "Keras 3 mixed_bfloat16", r["keras_bf16"], "ms/step",
                        "lower", 2.0))
        rows.append(row(label, "convkit fp32", r["convkit_fp32"], "PyTorch eager fp32", r["torch_fp32"],
                        "ms/step", "lower"))
        for who, cfg in [("convkit", c_cfg), ("torch", t_cfg)]:
            prof = r.get(f"{who}_{cfg}_profile")
            if prof:
                overhead.append({
                    "net": r["net"], "who": f"{who} {cfg}", "op_ms": prof["op_ms"], "wall_ms": prof["wall_ms"],
                    "profiled_wall_ms": prof["profiled_wall_ms"],
                    "observed_overhead": prof["profiled_overhead"], "overhead": prof["overhead"],
                    "target": 0.05 if who == "convkit" and r["net"] == "mnist" else None,
                })
    return rows, overhead


def mnist_rows(m):
    label = "MNIST epoch (60,000 images, batch 64)"
    c = m["convkit_fast"]["seconds_per_epoch"]
    return [
        row(label, "convkit mixed_bfloat16", c, "PyTorch eager bf16 + channels-last",
            m["torch_fast"]["seconds_per_epoch"], "s/epoch", "lower"),
        row(label, "convkit mixed_bfloat16", c, "Keras 3 mixed_bfloat16", m["keras_fast"]["seconds_per_epoch"],
            "s/epoch", "lower"),
        row(label, "convkit float32", m["convkit"]["seconds_per_epoch"], "PyTorch eager float32",
            m["torch"]["seconds_per_epoch"], "s/epoch", "lower"),
        row(label, "convkit float32", m["convkit"]["seconds_per_epoch"], "Keras 3 float32",
            m["keras"]["seconds_per_epoch"], "s/epoch", "lower"),
    ]


def loader_rows(ld):
    label = f"loader, {ld['size']}x{ld['size']} JPEGs + book augmentation, decoding every epoch"
    ours = ld["convkit"]["images_per_sec"]
    rows = [row(label, "convkit", ours, "torchvision DataLoader, 2 workers", ld["torchvision_2_workers"],
                "images/s", "higher", 3.0),
            row(label, "convkit", ours, "Keras ImageDataGenerator, 2 threads", ld["keras_threads"],
                "images/s", "higher", 5.0)]
    if ld.get("convkit_dct_scaling"):
        rows.append(row(label, "convkit --dct-scaling", ld["convkit_dct_scaling"]["images_per_sec"],
                        "torchvision 2 workers, PIL draft()", ld["torchvision_2_workers_draft"],
                        "images/s", "higher"))
    for name, us in ld.get("albumentations_us", {}).items():
        c = (ld.get("convkit_us") or {}).get(name)
        if c:
            rows.append(row(f"transform {name}, one image, one thread", "convkit", c, "albumentations", us,
                            "us/image", "lower"))
    return rows


def features_rows(f):
    label = f"EfficientNet-Lite0 features, {f['images']} images at 224x224, batch {f['batch']}"
    c_cfg, c = best(f, "convkit_", lower=False)
    t_cfg, t = best({k: v for k, v in f.items() if k.startswith("torch_")}, "torch_", lower=False)
    return [row(label, f"convkit {c_cfg}", c, f"PyTorch eager {t_cfg}", t, "images/s", "higher", 1.0),
            row(label, f"convkit {c_cfg}", c, "convkit fp32 NCHW", f["convkit_fp32"], "images/s", "higher", 1.5)]


# Each comparison's script and arguments, given the thread count and the runs folder.
SCRIPT_ARGS = {
    "step": lambda t, w: ("compare_step", ["--threads", t, "--rounds", "3", "--steps", "10",
                                           "--passes", "2", "--profile"]),
    "mnist": lambda t, w: ("compare_mnist", ["--epochs", "2", "--threads", t]),
    "loader": lambda t, w: ("compare_loader", [jpeg_folder(w), "--threads", t, "--epochs", "3"]),
    "features": lambda t, w: ("compare_features", [jpeg_folder(w), "--limit", "256", "--threads", t]),
    "gradcam": lambda t, w: ("compare_gradcam", [os.path.join(DATA, "backgrounds"), "--threads", t]),
    "filters": lambda t, w: ("compare_filters", ["--threads", t]),
}


def rows_of(name, r):
    """The table rows (and, for `step`, the overhead rows) of one comparison's JSON."""
    if name == "step":
        return step_rows(r)
    if name == "mnist":
        return mnist_rows(r), []
    if name == "loader":
        return loader_rows(r), []
    if name == "features":
        return features_rows(r), []
    if name == "gradcam":
        return [row("Grad-CAM, EfficientNet-Lite0, batch 8", "convkit", r["convkit_ms_per_image"],
                    "pytorch-grad-cam", r["torch_ms_per_image"], "ms/image", "lower")], []
    return [row("filter ascent, Lite0 stem, 30 steps, 32 filters", "convkit", r["convkit_s_per_filter"],
                "PyTorch eager loop", r["torch_s_per_filter"], "s/filter", "lower")], []


def markdown(res):
    lines = [f"# convkit against its peers, {res['date']}", "",
             f"CPU: {res['cpu']} ({', '.join(res['cpu_features'])}; {os.cpu_count()} cores); {res['threads']} threads; torch {res['versions'].get('torch')}, "
             f"torchvision {res['versions'].get('torchvision')}, keras {res['versions'].get('keras')}, "
             f"albumentations {res['versions'].get('albumentations')}, grad-cam {res['versions'].get('grad-cam')}. "
             f"Ratio: how many times faster convkit is (above 1: convkit faster).", "",
             "| comparison | convkit | figure | peer | figure | unit | ratio | target |",
             "|---|---|---|---|---|---|---|---|"]
    for r in res["table"]:
        target = "" if r["target"] is None else f"≥ {r['target']:g} ({'holds' if r['holds'] else 'not met'})"
        lines.append(f"| {r['comparison']} | {r['convkit']} | {r['convkit_figure']:.4g} | {r['peer']} "
                     f"| {r['peer_figure']:.4g} | {r['unit']} | {r['ratio']:.2f} | {target} |")
    if res.get("overhead"):
        lines += ["", "Time inside libtorch's operators per training step and the overhead of the wall time over "
                  "it. Both sides alternate unobserved and observed rounds "
                  "(medians). Observed: the observed rounds' wall time over their operator time (convkit: OpTimer; "
                  "PyTorch: torch.profiler, which costs more per record). Overhead: the unobserved wall time over "
                  "the operator time; convkit's with its observer's measured cost per record taken out of both "
                  "(bench_step_profile.rs), PyTorch's as it is.", "",
                  "| net | run | operators ms | observed wall ms | wall ms | observed overhead | overhead | target |",
                  "|---|---|---|---|---|---|---|---|"]
        for o in res["overhead"]:
            finite = all(isinstance(o[k], (int, float)) for k in ("overhead", "observed_overhead"))
            if not finite:
                o = dict(o, overhead=float("nan"), observed_overhead=float("nan"))
            target = "" if o["target"] is None else (
                f"≤ {100 * o['target']:g}% ({'holds' if finite and o['overhead'] <= o['target'] else 'not met'})")
            lines.append(f"| {o['net']} | {o['who']} | {o['op_ms']:.2f} | {o['profiled_wall_ms']:.2f} "
                         f"| {o['wall_ms']:.2f} | {100 * o['observed_overhead']:.1f}% | {100 * o['overhead']:.1f}% "
                         f"| {target} |")
    lines += ["", "Seconds per comparison: " + ", ".join(f"{k} {v:.0f}" for k, v in res["seconds"].items()) + "."]
    return "\n".join(lines) + "\n"


def versions():
    out = {}
    for p in ["torch", "torchvision", "keras", "albumentations", "opencv-python-headless", "grad-cam", "pillow"]:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=",".join(ALL), help="comma list of: " + ",".join(ALL))
    ap.add_argument("--out", default=RESULTS, help="folder of compare_<date>.md and .json")
    ap.add_argument("--table-from", metavar="JSON",
                    help="write the tables again from a saved compare_<date>.json (nothing runs)")
    a = ap.parse_args()
    if a.table_from:
        with open(a.table_from) as f:
            res = json.load(f)
        res["table"], res["overhead"] = [], []
        for name, r in res["runs"].items():
            rows, overhead = rows_of(name, r)
            res["table"] += rows
            res["overhead"] += overhead
        write_tables(res, os.path.splitext(a.table_from)[0])
        return
    only = [w for w in a.only.split(",") if w]
    unknown = set(only) - set(ALL)
    if unknown:
        sys.exit(f"--only: unknown {sorted(unknown)}; choose from {ALL}")
    date = datetime.date.today().isoformat()
    work_root = os.path.join(ROOT, "runs", "compare")
    work = os.path.join(work_root, date)
    os.makedirs(work, exist_ok=True)
    t = str(a.threads)
    res = {"date": date, "cpu": cpu_model(), "cpu_features": cpu_features(), "threads": a.threads, "versions": versions(), "runs": {},
           "table": [], "overhead": [], "seconds": {}}
    for name in only:
        started = time.time()
        r = run_script(*SCRIPT_ARGS[name](t, work_root), work)
        rows, overhead = rows_of(name, r)
        if name == "step":
            res["overhead"] = overhead
        res["runs"][name] = r
        res["table"] += rows
        res["seconds"][name] = time.time() - started
    os.makedirs(a.out, exist_ok=True)
    write_tables(res, os.path.join(a.out, f"compare_{date}"))


def write_tables(res, stem):
    """`res` as `stem`.json and its tables as `stem`.md."""
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=1)
    text = markdown(res)
    with open(stem + ".md", "w") as f:
        f.write(text)
    print("\n" + text)
    print(f"table in {stem}.md and {stem}.json", file=sys.stderr)


if __name__ == "__main__":
    main()
