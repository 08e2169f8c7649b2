#!/usr/bin/env python3
# Plot of `smx-validate --anchors --json`: softmax max ulp per regime and n, ours beside each anchor (SVG + PNG).
"""Usage: scripts/validate-plot.py validate.json [out-dir]

Writes out-dir/validate-anchors.svg and .png (default out-dir: the JSON's folder): one panel per
corpus regime, max ulp against the oracle (the same oracle and metric for every implementation)
against n, one line per implementation. Infinite errors (NaN or inf outputs where the oracle is
finite, or the reverse) are drawn as crosses on the "inf" band at the top. matplotlib is installed
on demand as by scripts/bench-plot.py (SMX_PLOT_NO_INSTALL=1: never).
"""
import importlib.util, json, math, os, sys

STYLE = {"simdmax": dict(color="black", lw=2.4, marker="o", zorder=5),
         "xnnpack": dict(color="tab:blue", marker="s"), "onednn": dict(color="tab:orange", marker="^"),
         "sleef-3pass": dict(color="tab:green", marker="v"), "naive-libm": dict(color="tab:red", marker="D", ls="--")}


def bench_plot_module():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("bench_plot", os.path.join(here, "bench-plot.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    path = argv[1]
    out = argv[2] if len(argv) > 2 else os.path.dirname(os.path.abspath(path))
    with open(path) as f:
        d = json.load(f)
    anchors = d.get("anchors")
    if not anchors:
        sys.exit("validate-plot: %s has no \"anchors\" (run smx-validate --anchors --json)" % path)
    bench_plot_module().need_matplotlib()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = d["corpus"]["regimes"]
    impls = [i for i in anchors["implementations"] if i.get("status") != "skipped"]
    finite = [c["max_ulp"] for i in impls for c in i["cases"] if c["max_ulp"] is not None]
    top = 10 ** math.ceil(math.log10(max(finite + [10]) * 2))  # decade above the largest finite error
    inf_y = top * 3
    cols = 3
    rows = (len(regimes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    for ax, regime in zip(axes.flat, regimes):
        for k, imp in enumerate(impls):
            pts = sorted((c["n"], c["max_ulp"]) for c in imp["cases"] if c["regime"] == regime)
            if not pts:
                continue
            xs = [n for n, _ in pts]
            ys = [u if u is not None else float("nan") for _, u in pts]
            st = dict(STYLE.get(imp["name"], {}))
            ax.plot(xs, ys, label=imp["name"], ms=4, **st)
            bad = [n for n, u in pts if u is None]
            if bad:
                # side by side, not on top of each other
                ax.scatter([n * 1.35 ** (k - len(impls) / 2) for n in bad], [inf_y] * len(bad), marker="x", s=30,
                           color=st.get("color"), zorder=6)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(0, inf_y * 2)
        ax.axhspan(top * 1.5, inf_y * 2, color="0.92", zorder=0)
        ax.text(0.99, 0.90, "above: inf (NaN / wrong special value)", transform=ax.transAxes, fontsize=7,
                va="top", ha="right", color="0.35")
        ax.set_title(regime, fontsize=10)
        ax.set_xlabel("n (row length)")
        ax.set_ylabel("max ulp vs oracle")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(regimes):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="center left")
    skipped = [i["name"] for i in anchors["implementations"] if i.get("status") == "skipped"]
    title = "softmax max ulp per regime and n (%s%s), %s, %s, simdmax %s" % (
        "quick corpus" if d["corpus"].get("quick") else "full corpus",
        ("; skipped: " + ", ".join(skipped)) if skipped else "", d.get("cpu", "?"), d.get("compiler", "?"),
        d.get("version", "?"))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    for ext in ("svg", "png"):
        p = os.path.join(out, "validate-anchors." + ext)
        fig.savefig(p, dpi=110 if ext == "png" else None, bbox_inches="tight")
        print("validate-plot: wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
