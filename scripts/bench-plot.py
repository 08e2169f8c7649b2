#!/usr/bin/env python3
# Plots of one smx-bench run: reads Google Benchmark JSON, writes SVG + PNG per kernel family beside it.
"""Usage: scripts/bench-plot.py bench-results/<tag>/smx-bench.json [out-dir]

Writes into out-dir (default: the JSON's folder)
  plot-<family>.svg/.png     ns/element against n (log-log), one panel per kernel and case
                             (cache, mem), one line per implementation, bandwidth loops dashed grey
  plot-softmax-speedup.*     fastest softmax anchor / ours, per ISA and case
  plot-rows.*, plot-threads.* the short-rows and threads cases, when the run has them
Names are <kernel>/<impl>/<case>/<n> (the case may also come first); names that do not parse are
skipped with a note. The CPU in the titles comes from the JSON context (cpu_model, cpu or host_cpu),
else from smx-bench.txt beside the JSON. matplotlib is installed (pip, else apt) when missing, unless
SMX_PLOT_NO_INSTALL is set.
"""
import json, os, re, subprocess, sys
from collections import defaultdict


def need_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        if os.environ.get("SMX_PLOT_NO_INSTALL"):
            sys.exit("bench-plot: matplotlib missing (SMX_PLOT_NO_INSTALL set: not installing it)")
    print("bench-plot: matplotlib missing, installing it with pip", file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"])
    if r.returncode != 0 and os.path.exists("/usr/bin/apt-get") and sys.executable.startswith("/usr/bin/"):
        # Debian's own Python refuses pip (PEP 668, or no pip at all): its package instead.
        print("bench-plot: pip failed, trying apt-get install python3-matplotlib", file=sys.stderr)
        pre = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run(pre + ["apt-get", "install", "-y", "-qq", "python3-matplotlib"])
    import importlib
    importlib.invalidate_caches()
    import matplotlib  # noqa: F401  (raises if every attempt failed)


CASES = ("cache", "mem", "rows", "threads")
ANCHORS = re.compile(r"^(xnnpack|onednn|sleef)")      # other libraries' softmax
BASELINES = re.compile(r"^(sort|naive|libm|ref)")     # simple C baselines in bench/
FAMILIES = [  # (family, kernel-name pattern); a kernel matching none is a family of its own
    ("backward", r".*_backward$"), ("cross-entropy", r"^xent_"), ("logsumexp", r"^logsumexp$"),
    ("log_softmax", r"^log_softmax$"), ("softmax", r"^softmax$"), ("stablemax", r"^(log_)?stablemax$"),
    ("sparsemax", r"^sparsemax$")]


def family(kernel):
    return next((f for f, p in FAMILIES if re.search(p, kernel)), kernel)


def parse_name(name, threads_field):
    """-> dict(case, kernel, impl, x, extra, threads) or None."""
    toks, extra, thr = [], [], None
    for t in name.split("/"):
        if ":" in t:  # Google Benchmark suffixes: threads:4, min_time:0.2, repeats:3
            k, _, v = t.partition(":")
            if k == "threads" and v.isdigit(): thr = int(v)
            continue
        toks.append(t)
    case = next((t for t in toks if t in CASES), None)
    if case is None: return None
    toks.remove(case)
    nums, words = [], []
    for t in toks:
        m = re.fullmatch(r"(\d+)x(\d+)", t)  # <rows>x<n>
        if m: extra.append("rows=" + m.group(1)); nums.append(int(m.group(2)))
        elif t.isdigit(): nums.append(int(t))
        else: words.append(t)
    if not nums or len(words) < 2: return None
    if thr is None and threads_field and threads_field > 1: thr = threads_field
    return dict(case=case, kernel=words[0], impl="/".join(words[1:]), x=nums[-1],
                extra=extra + ["n=%d" % v for v in nums[:-1]], threads=thr)


def ns_per_el(b):
    if "ns_per_el" in b: return float(b["ns_per_el"])
    if b.get("items_per_second"): return 1e9 / float(b["items_per_second"])
    return None


def load(path):
    with open(path) as f: d = json.load(f)
    ctx = d.get("context", {})
    groups = defaultdict(list)  # run_name -> its entries (iterations, aggregates)
    for b in d.get("benchmarks", []):
        if b.get("error_occurred"):
            print("bench-plot: skipped %s (error: %s)" % (b.get("name"), b.get("error_message", "")), file=sys.stderr)
            continue
        groups[b.get("run_name", b.get("name", ""))].append(b)
    rows, skipped = [], []
    for name, bs in groups.items():
        med = [b for b in bs if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
        its = [b for b in bs if b.get("run_type", "iteration") == "iteration"]
        vals = [v for v in (ns_per_el(b) for b in (med or its)) if v is not None and v > 0]
        p = parse_name(name, (med or its or bs)[0].get("threads"))
        if p is None or not vals:
            skipped.append(name)
            continue
        p["y"] = sum(vals) / len(vals)  # the median, or the mean of the repetitions
        rows.append(p)
    if skipped:
        print("bench-plot: skipped %d unknown or empty name(s): %s" % (len(skipped), ", ".join(skipped[:8])
              + (" ..." if len(skipped) > 8 else "")), file=sys.stderr)
    return ctx, rows


def cpu_name(ctx, json_path):
    for k in ("cpu_model", "cpu", "host_cpu"):
        if ctx.get(k): return str(ctx[k])
    txt = os.path.join(os.path.dirname(json_path), "smx-bench.txt")
    if os.path.exists(txt):
        with open(txt, errors="replace") as f:
            m = re.search(r"CPU: (.*?)(, ISAs|;|$)", f.read(4096), re.M)
            if m: return m.group(1).strip()
    return "CPU unknown (%s, %s MHz)" % (ctx.get("host_name", "?"), ctx.get("mhz_per_cpu", "?"))


def style(impl):
    if ANCHORS.match(impl): return dict(linestyle="--", marker="s")
    if BASELINES.match(impl): return dict(linestyle=":", marker="^")
    return dict(linestyle="-", marker="o", linewidth=2)


class Colors:
    def __init__(self, plt):
        self.cyc, self.map = plt.rcParams["axes.prop_cycle"].by_key()["color"], {}

    def __call__(self, key):
        if key not in self.map: self.map[key] = self.cyc[len(self.map) % len(self.cyc)]
        return self.map[key]


def series(rows):
    """{label: sorted [(x, y)]} for rows of one panel."""
    s = defaultdict(list)
    for r in rows: s[" ".join([r["impl"]] + r["extra"])].append((r["x"], r["y"]))
    return {k: sorted(v) for k, v in sorted(s.items())}


def save(fig, out, stem, written):
    for ext in ("svg", "png"):
        p = os.path.join(out, "%s.%s" % (stem, ext))
        fig.savefig(p, dpi=110 if ext == "png" else None, bbox_inches="tight")
        written.append(p)


def plot_families(plt, rows, out, title_tail, colors, written):
    bw = defaultdict(list)  # case -> rows of the bandwidth loops
    byfam = defaultdict(lambda: defaultdict(list))  # family -> kernel -> rows
    for r in rows:
        if r["case"] not in ("cache", "mem"): continue
        if r["kernel"] == "bw": bw[r["case"]].append(r)
        else: byfam[family(r["kernel"])][r["kernel"]].append(r)
    for fam, kernels in sorted(byfam.items()):
        cases = [c for c in ("cache", "mem") if any(r["case"] == c for k in kernels.values() for r in k)]
        names = sorted(kernels)
        fig, axes = plt.subplots(len(names), len(cases), figsize=(7.4 * len(cases), 3.6 * len(names) + 0.8),
                                 squeeze=False)
        for i, k in enumerate(names):
            for j, c in enumerate(cases):
                ax = axes[i][j]
                for lab, pts in series(r for r in kernels[k] if r["case"] == c).items():
                    ax.plot(*zip(*pts), label=lab, color=colors(lab), **style(lab))
                for lab, pts in series(bw[c]).items():
                    ax.plot(*zip(*pts), label="bw/" + lab, color="0.55", linestyle=(0, (4, 3)),
                            linewidth=1, marker="x" if "copy" in lab else "+")
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.set_title("%s, %s" % (k, c), fontsize=10)
                ax.set_xlabel("n (elements per row)")
                ax.set_ylabel("ns / element (CPU time)")
                ax.grid(True, which="both", alpha=0.3)
                ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.suptitle("%s: ns/element against n, %s" % (fam, title_tail), fontsize=11)
        fig.tight_layout()
        save(fig, out, "plot-" + fam.replace("/", "_"), written)
        plt.close(fig)


def plot_speedup(plt, rows, out, title_tail, colors, written):
    sm = [r for r in rows if r["kernel"] == "softmax" and r["case"] in ("cache", "mem") and not r["extra"]]
    best = {}  # (case, n) -> (ns/el, anchor)
    for r in sm:
        if ANCHORS.match(r["impl"]) and ((r["case"], r["x"]) not in best or r["y"] < best[(r["case"], r["x"])][0]):
            best[(r["case"], r["x"])] = (r["y"], r["impl"])
    ours = [r for r in sm if not ANCHORS.match(r["impl"]) and not BASELINES.match(r["impl"])
            and r["impl"] != "scalar" and (r["case"], r["x"]) in best]
    if not ours:
        print("bench-plot: no softmax anchors (or no vector ISA) in this run: no speedup plot", file=sys.stderr)
        return
    cases = [c for c in ("cache", "mem") if any(r["case"] == c for r in ours)]
    fig, axes = plt.subplots(1, len(cases), figsize=(6.2 * len(cases), 4.2), squeeze=False)
    for ax, c in zip(axes[0], cases):
        for lab, pts in series(r for r in ours if r["case"] == c).items():
            xs, ys = zip(*[(x, best[(c, x)][0] / y) for x, y in pts])
            ax.plot(xs, ys, label="ours " + lab, color=colors(lab), **style(lab))
            for x, y in zip(xs, ys): ax.annotate(best[(c, x)][1], (x, y), fontsize=6, alpha=0.7,
                                                 textcoords="offset points", xytext=(3, -9))
        ax.axhline(1.0, color="0.4", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_title("softmax, %s (label: the fastest anchor at that n)" % c, fontsize=10)
        ax.set_xlabel("n (elements per row)")
        ax.set_ylabel("fastest anchor time / our time (> 1: ours faster)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("softmax speedup over the fastest anchor (XNNPACK, oneDNN, SLEEF 3-pass), %s" % title_tail,
                 fontsize=11)
    fig.tight_layout()
    save(fig, out, "plot-softmax-speedup", written)
    plt.close(fig)


def plot_other_case(plt, rows, case, out, title_tail, colors, written):
    rs = [r for r in rows if r["case"] == case]
    if not rs: return
    if case == "threads":
        for r in rs:  # x: the thread count; the name's last number when Google Benchmark's is absent
            if r["threads"] is not None: r["extra"], r["x"] = r["extra"] + ["n=%d" % r["x"]], r["threads"]
    kernels = sorted({r["kernel"] for r in rs})
    cols = min(2, len(kernels))
    nrow = (len(kernels) + cols - 1) // cols
    fig, axes = plt.subplots(nrow, cols, figsize=(7.4 * cols, 3.6 * nrow + 0.8), squeeze=False)
    for i, k in enumerate(kernels):
        ax = axes[i // cols][i % cols]
        for lab, pts in series(r for r in rs if r["kernel"] == k).items():
            ax.plot(*zip(*pts), label=lab, color="0.55" if k == "bw" else colors(lab.split()[0]), **style(lab))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title("%s, %s" % (k, case), fontsize=10)
        ax.set_xlabel("threads" if case == "threads" else "n (elements per row)")
        ax.set_ylabel("ns / element")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for i in range(len(kernels), nrow * cols): axes[i // cols][i % cols].set_visible(False)
    fig.suptitle("%s case: ns/element against %s, %s" % (case, "threads" if case == "threads" else "n", title_tail),
                 fontsize=11)
    fig.tight_layout()
    save(fig, out, "plot-" + case, written)
    plt.close(fig)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    path = argv[1]
    out = argv[2] if len(argv) > 2 else os.path.dirname(os.path.abspath(path))
    ctx, rows = load(path)
    os.makedirs(out, exist_ok=True)
    if not rows:
        print("bench-plot: no benchmark in %s could be read" % path, file=sys.stderr)
        return 1
    need_matplotlib()
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "smx"  # stable SVG ids from run to run
    import matplotlib.pyplot as plt
    tail = "%s%s" % (cpu_name(ctx, path), (", " + ctx["date"][:10]) if ctx.get("date") else "")
    colors, written = Colors(plt), []
    plot_families(plt, rows, out, tail, colors, written)
    plot_speedup(plt, rows, out, tail, colors, written)
    for c in ("rows", "threads"): plot_other_case(plt, rows, c, out, tail, colors, written)
    print("bench-plot: %d files in %s/ (%s)" % (len(written), out, ", ".join(sorted(
        {os.path.basename(p)[5:-4] for p in written}))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
