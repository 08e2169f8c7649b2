"""Test helpers for the 16-bit paths: bit patterns widened to float32 and float32 rounded to 16 bits by the C
library's own converters (smx_f32_from_bf16 / _f16, smx_bf16_from_f32 / smx_f16_from_f32), and inputs with
the special values the 16-bit contract names (NaN, +-inf, all -inf rows, subnormals, large magnitudes)."""
import numpy as np

from simdmax import _lib


def _as2d(a):
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def widen(bits, sfx):
    """uint16 bit patterns (any shape) -> float32, exactly (smx_f32_from_<sfx>)."""
    bits = np.array(bits, np.uint16, order="C")  # (np.ascontiguousarray makes a 0-d array 1-d)
    b2 = _as2d(bits)
    out = np.empty(b2.shape, np.float32)
    if b2.size:
        _lib.call(f"f32_from_{sfx}", b2.shape[0], b2.shape[1], b2.ctypes.data, b2.shape[1], out.ctypes.data,
                  b2.shape[1])
    return out.reshape(bits.shape)


def round16(x, sfx):
    """float32 (any shape) -> uint16 bit patterns rounded to nearest even (smx_<sfx>_from_f32)."""
    x = np.array(x, np.float32, order="C")
    x2 = _as2d(x)
    out = np.empty(x2.shape, np.uint16)
    if x2.size:
        _lib.call(f"{sfx}_from_f32", x2.shape[0], x2.shape[1], x2.ctypes.data, x2.shape[1], out.ctypes.data,
                  x2.shape[1])
    return out.reshape(x.shape)


def inputs16(sfx, rows, n, seed=0, specials=True):
    """rows x n uint16 bit patterns of sfx: N(0, 3) entries; with specials, after the first row: a wide row, a row
    with -inf entries, one with +inf, a NaN row, an all -inf row, tiny (f16: subnormal) entries, and large
    magnitudes (bf16: 1e30, f16: 6e4)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, n)) * 3).astype(np.float32)
    big = 6.0e4 if sfx == "f16" else 1.0e30
    specials_ = [
        lambda r: r.__setitem__(slice(None), rng.uniform(-80, 80, n)),
        lambda r: r.__setitem__(slice(0, None, 7), -np.inf),
        lambda r: r.__setitem__(n // 2, np.inf),
        lambda r: r.__setitem__(n // 3, np.nan),
        lambda r: r.__setitem__(slice(None), -np.inf),
        lambda r: r.__setitem__(slice(0, None, 3), 3e-6),  # f16: subnormal
        lambda r: r.__setitem__(slice(0, None, 5), big * np.sign(rng.standard_normal())),
    ]
    for i, f in enumerate(specials_[: max(0, rows - 1)] if specials else []):
        f(x[i + 1])
    return round16(x, sfx)
