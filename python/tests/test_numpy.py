"""simdmax's NumPy functions against float64 NumPy references within the README's bounds, layouts (zero copies
for C-contiguous and row-strided arrays), every ISA bit-identical, errors with their messages, threads."""
import concurrent.futures

import numpy as np
import pytest

import simdmax
from simdmax import SimdmaxError

FLT_MIN = np.finfo(np.float32).tiny


def ulp_err(y, ref, scale=None):
    """|y - ref| in ulp of max(|ref|, scale, FLT_MIN) (float32 ulp)."""
    ref = np.asarray(ref, np.float64)
    s = np.abs(ref) if scale is None else np.maximum(np.abs(ref), scale)
    s = np.maximum(s, FLT_MIN)
    ulp = np.spacing(s.astype(np.float32)).astype(np.float64)
    exact = (np.isinf(ref) & (y == ref)) | ((y == 0) & (np.abs(ref) < 1.001 * FLT_MIN))  # the flush rule
    err = np.where(exact, 0.0, np.abs(y.astype(np.float64) - np.where(np.isinf(ref), 0.0, ref)) / ulp)
    return float(np.max(err)) if err.size else 0.0


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 2, 7, 64, 65, 1000, 1025, 4097):
        out.append(rng.standard_normal((3, n)).astype(np.float32))  # narrow
        out.append(rng.uniform(-80, 80, (3, n)).astype(np.float32))  # wide
        x = rng.standard_normal((2, n)).astype(np.float32)
        x[:, 0] += 30  # one-hot
        out.append(x)
    return out


def ref_log_softmax(x):
    """x - max - log(K + R) with K the ties of the max and R the sum of the others (no cancellation at 1)."""
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    tie = x == m
    k = tie.sum(-1, keepdims=True)
    r = np.where(tie, 0.0, np.exp(x - m)).sum(-1, keepdims=True)
    return x - m - (np.log(k) + np.log1p(r / k))


def ref_stable_s(x):
    x = x.astype(np.float64)
    return np.where(x >= 0, x + 1.0, 1.0 / (1.0 - np.minimum(x, 0)))


def ref_sparsemax(x):
    z = x.astype(np.float64)
    zs = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cs = np.cumsum(zs, -1)
    support = zs * k > cs - 1
    kz = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, -1) - 1) / kz
    return np.maximum(z - tau, 0)


@pytest.mark.parametrize("x", inputs(), ids=lambda x: f"{x.shape}")
def test_forward_accuracy(x):
    assert ulp_err(simdmax.softmax(x), np.exp(ref_log_softmax(x))) <= 4
    assert ulp_err(simdmax.log_softmax(x), ref_log_softmax(x)) <= 4
    lse = x.max(-1) - ref_log_softmax(x).max(-1)
    assert ulp_err(simdmax.logsumexp(x), lse, np.maximum(np.abs(lse), np.abs(x).max(-1))) <= 4
    s = ref_stable_s(x)
    assert ulp_err(simdmax.stablemax(x), s / s.sum(-1, keepdims=True)) <= 4
    others = s.sum(-1, keepdims=True) - s  # log p = -log1p(others / s): no cancellation near p = 1
    assert ulp_err(simdmax.log_stablemax(x), -np.log1p(others / s)) <= 4
    scale = np.maximum(1.0, np.abs(x).max(-1, keepdims=True))
    p = simdmax.sparsemax(x)
    ref = ref_sparsemax(x)
    assert ulp_err(p, ref, scale) <= 4
    assert np.array_equal(p > 0, ref > 0), "sparsemax support"


def test_shapes_axis_and_zero_copy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 50)).astype(np.float32)
    y = simdmax.softmax(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.array_equal(y[1, 2], simdmax.softmax(x[1, 2]))
    # axis other than the last: moved, computed, moved back
    assert np.array_equal(simdmax.softmax(x, axis=1), np.moveaxis(simdmax.softmax(np.moveaxis(x, 1, -1)), -1, 1))
    assert simdmax.logsumexp(x, axis=2).shape == (2, 3, 50)
    # C-contiguous and row-strided views go to C without a copy (the same buffer, ld = the row stride)
    wide = rng.standard_normal((6, 80)).astype(np.float32)
    view = wide[:, 10:47]
    arr, rows, n, ld = simdmax.rows_view(view)
    assert arr is view and (rows, n, ld) == (6, 37, 80)
    assert np.array_equal(simdmax.softmax(view), simdmax.softmax(np.ascontiguousarray(view)))
    arr, rows, n, ld = simdmax.rows_view(x)
    assert arr is x and (rows, n, ld) == (24, 50, 50)
    sub = wide.reshape(2, 3, 80)[:, :, :40]
    arr, rows, n, ld = simdmax.rows_view(sub)
    assert arr is sub and (rows, n, ld) == (6, 40, 80)
    # a transposed view is copied once, with the same result
    t = wide.T
    assert np.array_equal(simdmax.softmax(t), simdmax.softmax(np.ascontiguousarray(t)))
    with pytest.raises(TypeError, match="float32"):
        simdmax.softmax(x.astype(np.float64))


def test_every_isa_bit_identical():
    x = inputs(3)[10]
    t = np.array([0, 1, 2])[: x.shape[0]]
    base = simdmax.isa()
    results = {}
    try:
        for isa in simdmax.supported_isas():
            simdmax.set_isa(isa)
            assert simdmax.isa() == isa
            results[isa] = [simdmax.softmax(x), simdmax.sparsemax(x), simdmax.log_stablemax(x),
                            simdmax.cross_entropy(x, t % x.shape[1], grad=True)[1]]
    finally:
        simdmax.set_isa(base)
    first = results["scalar"]
    for isa, r in results.items():
        for a, b in zip(first, r):
            assert a.tobytes() == b.tobytes(), isa
    with pytest.raises(ValueError):
        simdmax.set_isa("sse9")


def ref_xent(x, t, w=None, eps=0.0, reduction="mean"):
    lp = ref_log_softmax(x)
    n = x.shape[-1]
    w = np.ones(n) if w is None else w.astype(np.float64)
    rows = np.arange(x.shape[0])
    loss = (1 - eps) * w[t] * -lp[rows, t] + eps / n * (w * -lp).sum(-1)
    p = np.exp(lp)
    q = np.full(x.shape, eps / n)
    q[rows, t] += 1 - eps
    g = ((1 - eps) * w[t] + eps * w.sum() / n)[:, None] * p - w * q
    if reduction == "mean":
        return loss.sum() / w[t].sum(), g / w[t].sum()
    return (loss.sum(), g) if reduction == "sum" else (loss, g)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy(reduction):
    rng = np.random.default_rng(4)
    for n in (1, 10, 1000, 32000):
        x = (rng.standard_normal((5, n)) * 3).astype(np.float32)
        t = rng.integers(0, n, 5)
        loss, g = simdmax.cross_entropy(x, t, reduction=reduction, grad=True)
        rl, rg = ref_xent(x, t, reduction=reduction)
        assert ulp_err(np.asarray(loss), rl) <= 4
        assert ulp_err(g, rg, np.abs(rg).max(-1, keepdims=True) * 2**-6) <= 4
        loss32, g32 = simdmax.cross_entropy(x, t.astype(np.int32), reduction=reduction, grad=True)
        assert np.array_equal(loss32, loss) and np.array_equal(g32, g), "int32 targets = int64"
        w = rng.uniform(0.1, 2, n).astype(np.float32)
        loss, g = simdmax.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction=reduction, grad=True)
        rl, rg = ref_xent(x, t, w, 0.1, reduction)
        assert np.max(np.abs(loss - rl) / np.maximum(np.abs(rl), 1e-30)) <= 1e-5
        assert np.max(np.abs(g - rg)) <= 1e-5 * np.abs(rg).max()


def test_cross_entropy_probability_targets():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 100)).astype(np.float32)
    q = rng.uniform(0, 1, x.shape).astype(np.float32)
    q /= q.sum(-1, keepdims=True)
    loss, g = simdmax.cross_entropy(x, q, reduction="none", grad=True)
    lp = ref_log_softmax(x)
    assert loss.shape == (4, 3)
    assert np.max(np.abs(loss - (-(q * lp).sum(-1))) / np.abs(loss)) <= 1e-5
    assert np.max(np.abs(g - (np.exp(lp) - q))) <= 1e-5 * np.abs(np.exp(lp) - q).max()
    # the mean divides by the number of rows, as PyTorch's probability targets
    assert abs(simdmax.cross_entropy(x, q) - loss.mean()) <= 1e-6 * abs(loss.mean())


def test_errors_name_the_argument():
    x = np.zeros((3, 5), np.float32)
    with pytest.raises(SimdmaxError, match=r"targets\[1\] = 7 is outside \[0, n\) = \[0, 5\)"):
        simdmax.cross_entropy(x, np.array([0, 7, 1]))
    with pytest.raises(SimdmaxError, match=r"label_smoothing"):
        simdmax.cross_entropy(x, np.array([0, 1, 1]), label_smoothing=2.0)
    with pytest.raises(SimdmaxError, match=r"class_weight\[2\]"):
        simdmax.cross_entropy(x, np.array([0, 1, 1]), weight=np.array([1, 1, -1, 1, 1], np.float32))
    with pytest.raises(ValueError, match="shape"):
        simdmax.cross_entropy(x, np.array([0, 1]))


def test_threads_give_the_same_bits():
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal((64, 4096)).astype(np.float32) for _ in range(8)]
    serial = [simdmax.log_softmax(x) for x in xs]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        parallel = list(ex.map(simdmax.log_softmax, xs))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(serial, parallel))


def test_streamed_outputs_give_the_same_bits():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 5000)).astype(np.float32)
    default = simdmax.get_streaming_threshold()
    assert default is not None and default > 0
    plain = simdmax.log_softmax(x), simdmax.sparsemax(x)
    try:
        simdmax.set_streaming_threshold(0)  # every call streams its output
        assert simdmax.get_streaming_threshold() == 0
        streamed = simdmax.log_softmax(x), simdmax.sparsemax(x)
        simdmax.set_streaming_threshold(None)
        assert simdmax.get_streaming_threshold() is None
        with pytest.raises(ValueError):
            simdmax.set_streaming_threshold(-1)
    finally:
        simdmax.set_streaming_threshold(default)
    assert simdmax.get_streaming_threshold() == default
    assert all(a.tobytes() == b.tobytes() for a, b in zip(plain, streamed))


def test_version():
    assert simdmax.__version__ == simdmax.library_version() == "0.1.0"


def _vm_flags(addr):
    """The VmFlags of the mapping holding addr (/proc/self/smaps), or None."""
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and all(c in "0123456789abcdef-" for c in head):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= addr < hi
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    return None


def _thp_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return f.read().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return None


@pytest.mark.skipif(_thp_mode() not in ("madvise", "always"), reason="no transparent huge pages on request here")
def test_large_outputs_advised_huge_pages():
    """Outputs of at least HUGE_MIN_BYTES are advised MADV_HUGEPAGE (VmFlags 'hg') before the kernel writes them
    (their page faults cost more than the kernel on fresh buffers); the results are unchanged."""
    from simdmax import _lib
    x = np.random.default_rng(5).standard_normal((4, 1 << 20)).astype(np.float32)  # 16 MiB
    y = simdmax.softmax(x)
    flags = _vm_flags(y.ctypes.data + (4 << 20))  # a page inside the advised 2 MiB-aligned interior
    assert flags is not None and "hg" in flags, flags
    _, d = simdmax.cross_entropy(x, np.arange(4), grad=True)
    assert "hg" in _vm_flags(d.ctypes.data + (4 << 20))
    ref = np.empty_like(x)
    _lib.call("softmax_f32", 4, 1 << 20, x.ctypes.data, 1 << 20, ref.ctypes.data, 1 << 20)
    np.testing.assert_array_equal(y, ref)  # the advice changes no bit
