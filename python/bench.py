"""simdmax.torch against PyTorch on this CPU: cross-entropy forward + backward (time and extra peak memory) and
softmax (forward, and forward + backward), float32 and bfloat16, at the same thread count for both
(torch.set_num_threads(t); simdmax.torch's ops follow it). Each measurement runs in its own process (peak RSS is
per process); --rounds alternates the two implementations' processes and keeps each one's best, against a
machine shared with other work. Usage: python bench.py [--quick] [--reps N] [--rounds N] [--threads 1,2]
[--xent 4096x32000,65536x1000] [--softmax 8192x16,4096x1000] [--dtypes float32,bfloat16]."""
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
SOFTMAX_SHAPES = [(8192, 16), (4096, 1000), (4 * 16 * 512, 512)]  # rows x n (the last: attention, b h s x s)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak():
    """Reset the peak RSS (VmHWM) to the current RSS, so that making the inputs (a float32 temporary for
    bfloat16) does not count; False where the kernel does not allow it (then ru_maxrss, since the start)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes(reset):
    if reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
        rows, n = case["shape"]
        fn = st.softmax if case["impl"] == "simdmax" else (lambda v: torch.softmax(v, -1))
        if case["kind"] == "softmax":
            x = torch.randn(rows, n, generator=g).to(dtype)

            def run():
                fn(x)
        else:  # forward + backward
            x = torch.randn(rows, n, generator=g).to(dtype).requires_grad_()
            dy = torch.randn(rows, n, generator=g).to(dtype)

            def run():
                x.grad = None
                fn(x).backward(dy)
    # a tiny call first: the one-time imports and registrations of the first call are not the kernels' memory
    small = torch.randn(2, 8).to(dtype).requires_grad_()
    y = fn(small, torch.tensor([1, 2])) if case["kind"] == "xent" else fn(small)
    y.sum().backward()
    del small, y
    reset = reset_peak()
    base = rss_bytes()
    run()  # warm-up (and the first gradient buffer)
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    times = [first]
    reps = max(case["reps"], min(2000, int(1.0 / max(first, 1e-6))))  # short cases: about a second of runs
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    peak = peak_bytes(reset)
    print(json.dumps({"time": times[0], "median": times[len(times) // 2], "extra_peak": max(0, peak - base),
                      "input": x.numel() * x.element_size()}))


def measure(case):
    out = subprocess.run([sys.executable, __file__, "--one", json.dumps(case)], capture_output=True, text=True)
    if out.returncode:
        return None, out.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def best_of_rounds(case, rounds):
    """{impl: result}: torch and simdmax processes alternated `rounds` times, each impl's fastest run kept (its
    median from that run; the largest extra peak); None and the error if one failed."""
    res = {}
    for _ in range(rounds):
        for impl in ("torch", "simdmax"):
            r, err = measure(dict(case, impl=impl))
            if r is None:
                return None, err
            old = res.get(impl)
            if old is None or r["time"] < old["time"]:
                r["extra_peak"] = max(r["extra_peak"], old["extra_peak"] if old else 0)
                res[impl] = r
            else:
                old["extra_peak"] = max(old["extra_peak"], r["extra_peak"])
    return res, None


def shapes(arg):
    return [tuple(int(v) for v in s.split("x")) for s in arg.split(",") if s]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one")
    ap.add_argument("--quick", action="store_true", help="smaller shapes (a quick check)")
    ap.add_argument("--reps", type=int, default=5, help="timed runs per process (at least a second's worth)")
    ap.add_argument("--rounds", type=int, default=1, help="alternating processes per implementation")
    ap.add_argument("--threads", help="comma-separated thread counts (default: 1 and all)")
    ap.add_argument("--xent", help="cross-entropy shapes, e.g. 4096x32000,65536x1000 (default: the issue's three)")
    ap.add_argument("--softmax", help="softmax shapes rows x n, e.g. 8192x16,4096x1000")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    a = ap.parse_args()
    if a.one:
        return one(json.loads(a.one))
    import torch
    import simdmax
    threads_list = [int(t) for t in a.threads.split(",")] if a.threads else sorted({1, torch.get_num_threads()})
    dtypes = a.dtypes.split(",")
    xs = shapes(a.xent) if a.xent is not None else XENT_SHAPES
    ss = shapes(a.softmax) if a.softmax is not None else SOFTMAX_SHAPES
    if a.quick:
        xs = [(r // 8, n) for r, n in xs]
    print(f"simdmax {simdmax.__version__} ({simdmax.isa()}), torch {torch.__version__}, {os.cpu_count()} CPUs; "
          f"best (and that process's median) of {a.reps} runs x {a.rounds} rounds; extra peak = peak RSS above the "
          "inputs during the runs")
    print("\n| cross-entropy fwd+bwd | dtype | threads | torch ms | simdmax ms | speedup (best) | speedup (median) "
          "| torch extra peak MB | simdmax extra peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shape in xs:
        for dtype in dtypes:
            for threads in threads_list:
                r, err = best_of_rounds(dict(kind="xent", shape=shape, dtype=dtype, threads=threads, reps=a.reps),
                                        a.rounds)
                if r is None:
                    print(f"| {shape[0]} x {shape[1]} | {dtype} | {threads} | failed: {err} |", flush=True)
                    continue
                T, S = r["torch"], r["simdmax"]
                print(f"| {shape[0]} x {shape[1]} | {dtype} | {threads} | {T['time'] * 1e3:.1f} | "
                      f"{S['time'] * 1e3:.1f} | {T['time'] / S['time']:.2f}x | {T['median'] / S['median']:.2f}x | "
                      f"{T['extra_peak'] / 2**20:.0f} | {S['extra_peak'] / 2**20:.0f} |", flush=True)
    print("\n| softmax | rows x n | dtype | threads | torch ms | simdmax ms | speedup (best) | speedup (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, label in (("softmax", "forward"), ("softmax_fb", "fwd+bwd")):
        for shape in ss:
            for dtype in dtypes:
                for threads in threads_list:
                    r, err = best_of_rounds(dict(kind=kind, shape=shape, dtype=dtype, threads=threads, reps=a.reps),
                                            a.rounds)
                    if r is None:
                        print(f"| {label} | {shape[0]} x {shape[1]} | {dtype} | {threads} | failed: {err} |")
                        continue
                    T, S = r["torch"], r["simdmax"]
                    print(f"| {label} | {shape[0]} x {shape[1]} | {dtype} | {threads} | {T['time'] * 1e3:.3f} | "
                          f"{S['time'] * 1e3:.3f} | {T['time'] / S['time']:.2f}x | {T['median'] / S['median']:.2f}x |",
                          flush=True)
    print("\nthreads: torch.set_num_threads(t) in each process; simdmax.torch's ops follow torch.get_num_threads() "
          "(simdmax's own pool). bfloat16: simdmax.torch calls the C library's _bf16 entry points on the tensors.")


if __name__ == "__main__":
    main()
