"""simdmax.torch against PyTorch on this CPU: cross-entropy forward + backward (time and extra peak memory, one
thread and all threads) and softmax at attention shapes. Each measurement runs in its own process (peak RSS
is per process). Usage: python bench.py [--quick] [--reps N]."""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

# the installed package (with its library), not the source tree beside this script
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
XENT_SHAPES = [(4096, 32000), (8192, 128256), (65536, 1000)]
SOFTMAX_SHAPES = [(4, 16, 512), (2, 16, 2048)]  # (batch, heads, sequence): rows = b h s, n = s


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one(case):
    """Run one measurement in this process; print a JSON line."""
    import torch
    import torch.nn.functional as F
    import simdmax.torch as st

    torch.set_num_threads(case["threads"])
    dtype = getattr(torch, case["dtype"])
    g = torch.Generator().manual_seed(0)
    if case["kind"] == "xent":
        rows, n = case["shape"]
        x = (torch.randn(rows, n, generator=g) * 2).to(dtype).requires_grad_()
        t = torch.randint(0, n, (rows,), generator=g)
        fn = st.cross_entropy if case["impl"] == "simdmax" else F.cross_entropy

        def run():
            x.grad = None
            fn(x, t).backward()
    else:
        b, h, s = case["shape"]
        x = torch.randn(b * h * s, s, generator=g).to(dtype)
        fn = st.softmax if case["impl"] == "simdmax" else (lambda v: torch.softmax(v, -1))

        def run():
            fn(x)
    base = rss_bytes()
    run()  # warm-up (and the first gradient buffer)
    times = []
    for _ in range(case["reps"]):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"time": min(times), "extra_peak": max(0, peak - base), "input": x.numel() * x.element_size()}))


def measure(case):
    out = subprocess.run([sys.executable, __file__, "--one", json.dumps(case)], capture_output=True, text=True)
    if out.returncode:
        return None, out.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one")
    ap.add_argument("--quick", action="store_true", help="smaller shapes (a quick check)")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if a.one:
        return one(json.loads(a.one))
    import torch
    import simdmax
    nthreads = torch.get_num_threads()
    print(f"simdmax {simdmax.__version__} ({simdmax.isa()}), torch {torch.__version__}, {os.cpu_count()} CPUs; "
          f"best of {a.reps}; extra peak = peak RSS above the inputs during the runs")
    xs = [(r // 8, n) for r, n in XENT_SHAPES] if a.quick else XENT_SHAPES
    print("\n| cross-entropy fwd+bwd | dtype | threads | torch ms | simdmax ms | speedup | torch extra peak MB |"
          " simdmax extra peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in xs:
        for dtype in ("float32", "bfloat16"):
            for threads in sorted({1, nthreads}):
                r = {}
                for impl in ("torch", "simdmax"):
                    r[impl], err = measure(dict(kind="xent", impl=impl, shape=shape, dtype=dtype, threads=threads,
                                                reps=a.reps))
                if not r["torch"] or not r["simdmax"]:
                    print(f"| {shape} | {dtype} | {threads} | failed: {err} |")
                    continue
                T, S = r["torch"], r["simdmax"]
                print(f"| {shape[0]} x {shape[1]} | {dtype} | {threads} | {T['time'] * 1e3:.1f} | {S['time'] * 1e3:.1f} "
                      f"| {T['time'] / S['time']:.2f}x | {T['extra_peak'] / 2**20:.0f} | {S['extra_peak'] / 2**20:.0f} |")
    print("\n| softmax (b, h, s) | rows x n | threads | torch.softmax ms | simdmax ms | speedup |")
    print("|---|---|---|---|---|---|")
    for shape in SOFTMAX_SHAPES:
        for threads in sorted({1, nthreads}):
            T, _ = measure(dict(kind="softmax", impl="torch", shape=shape, dtype="float32", threads=threads, reps=a.reps))
            S, _ = measure(dict(kind="softmax", impl="simdmax", shape=shape, dtype="float32", threads=threads,
                                reps=a.reps))
            b, h, s = shape
            print(f"| {shape} | {b * h * s} x {s} | {threads} | {T['time'] * 1e3:.1f} | {S['time'] * 1e3:.1f} | "
                  f"{T['time'] / S['time']:.2f}x |")
    print("\nsimdmax runs each call on one thread (threads = PyTorch's setting, which changes only PyTorch); "
          "bfloat16 inputs are converted to float32 by simdmax.torch.")


if __name__ == "__main__":
    main()
