"""simdmax's NumPy functions on float16 (and ml_dtypes bfloat16, when installed) arrays: bit for bit the C
library's 16-bit result, round16(f32 kernel(widen(x))) with simdmax's own converters; zero-copy row layouts."""
import numpy as np
import pytest

import simdmax
from half16 import inputs16, round16, widen

MAPS = ["softmax", "log_softmax", "sparsemax", "stablemax", "log_stablemax"]
SHAPES = [(8, 1), (8, 3), (8, 64), (8, 65), (8, 1000), (8, 4097), (3, 20000)]  # 20000: past the stack scratch


def dtypes():
    out = [(np.float16, "f16")]
    try:
        import ml_dtypes
        out.append((ml_dtypes.bfloat16, "bf16"))
    except ImportError:
        pass
    return out


def bits(a):
    return np.ascontiguousarray(a).view(np.uint16)


@pytest.mark.parametrize("dt,sfx", dtypes(), ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_maps_and_logsumexp_bit_exact(dt, sfx, shape):
    b = inputs16(sfx, *shape)
    x = b.view(dt)
    w = widen(b, sfx)
    for k in MAPS:
        y = getattr(simdmax, k)(x)
        assert y.dtype == dt and y.shape == x.shape
        assert np.array_equal(bits(y), round16(getattr(simdmax, k)(w), sfx)), k
    lse = simdmax.logsumexp(x)  # float32: the C library's output, not rounded
    assert lse.dtype == np.float32 and lse.tobytes() == simdmax.logsumexp(w).tobytes()


@pytest.mark.parametrize("dt,sfx", dtypes(), ids=lambda v: getattr(v, "__name__", v))
def test_layouts_zero_copy(dt, sfx):
    wide = inputs16(sfx, 6, 80, seed=1).view(dt)
    view = wide[:, 10:47]
    arr, rows, n, ld = simdmax.rows_view(view)
    assert arr is view and (rows, n, ld) == (6, 37, 80)
    assert np.array_equal(bits(simdmax.softmax(view)), bits(simdmax.softmax(np.ascontiguousarray(view))))
    x3 = inputs16(sfx, 12, 50, seed=2).view(dt).reshape(2, 6, 50)
    arr, rows, n, ld = simdmax.rows_view(x3)
    assert arr is x3 and (rows, n, ld) == (12, 50, 50)
    y = simdmax.log_softmax(x3, axis=1)
    assert np.array_equal(bits(y), bits(np.moveaxis(simdmax.log_softmax(np.moveaxis(x3, 1, -1)), -1, 1)))


@pytest.mark.parametrize("dt,sfx", dtypes(), ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_bit_exact(dt, sfx, reduction):
    rng = np.random.default_rng(7)
    for rows, n, sp in ((9, 1, True), (9, 100, True), (9, 4097, True), (5, 32000, True), (9, 1000, False)):
        b = inputs16(sfx, rows, n, seed=n, specials=sp)
        x, w32 = b.view(dt), widen(b, sfx)
        t = rng.integers(0, n, rows)
        t[min(2, rows - 1)] = -100
        wt = rng.uniform(0.1, 2, n).astype(np.float32)
        cases = [dict(), dict(weight=wt, label_smoothing=0.1), dict(z_loss=1e-3, softcap=30.0),
                 dict(normalizer="stablemax", label_smoothing=0.2), dict(normalizer="sparsemax")]
        for kw in cases:
            for tt in (t, t.astype(np.int32)):
                loss, d = simdmax.cross_entropy(x, tt, reduction=reduction, grad=True, grad_scale=0.75, **kw)
                rl, rd = simdmax.cross_entropy(w32, tt, reduction=reduction, grad=True, grad_scale=0.75, **kw)
                assert d.dtype == dt and np.asarray(loss).dtype == np.float32
                assert np.asarray(loss).tobytes() == np.asarray(rl).tobytes(), kw
                assert np.array_equal(bits(d), round16(rd, sfx)), kw


@pytest.mark.parametrize("dt,sfx", dtypes(), ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("n", [300, 9000])  # 9000: the 16-bit entry point's rows a block at a time
def test_cross_entropy_probability_targets(dt, sfx, n):
    b = inputs16(sfx, 2, n, seed=3, specials=False)
    x, w32 = b.view(dt), widen(b, sfx)
    rng = np.random.default_rng(8)
    q = rng.uniform(0, 1, x.shape).astype(np.float32)
    q /= q.sum(-1, keepdims=True)
    for qq, q32 in ((q, q), (round16(q, sfx).view(dt), widen(round16(q, sfx), sfx))):
        for red in ("none", "mean"):
            for norm in ("softmax", "stablemax", "sparsemax"):
                kw = dict(reduction=red, grad=True, label_smoothing=0.1, normalizer=norm)
                loss, d = simdmax.cross_entropy(x, qq, **kw)
                rl, rd = simdmax.cross_entropy(w32, q32, **kw)
                assert np.asarray(loss).tobytes() == np.asarray(rl).tobytes()
                assert d.dtype == dt and np.array_equal(bits(d), round16(rd, sfx))


def test_other_dtypes_are_rejected():
    with pytest.raises(TypeError, match="float32, float16 or bfloat16"):
        simdmax.softmax(np.zeros((2, 3), np.float64))
    with pytest.raises(TypeError, match="float32, float16 or bfloat16"):
        simdmax.softmax(np.zeros((2, 3), np.uint16))
