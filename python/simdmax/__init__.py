"""simdmax: vectorized softmax, log-softmax, logsumexp, sparsemax, stablemax, log-stablemax and a fused
cross-entropy on NumPy arrays, bit-identical on every CPU (scalar, AVX2, AVX-512, NEON).

Every function works on the last axis by default (``axis=-1``) of an array of any leading shape. Rows are
passed to the C library without a copy when the array is C-contiguous, or when its rows are contiguous and
evenly spaced (a row stride, e.g. ``x[:, :n]`` of a wider matrix); other layouts (``axis`` not last,
transposed views) are copied once. Accepted: float32, float16 and bfloat16 (``ml_dtypes.bfloat16`` arrays,
when the caller has ml_dtypes; simdmax does not depend on it); anything else is a ``TypeError`` (convert
explicitly). float16 / bfloat16 arrays go to the C library's native 16-bit entry points (``smx_<kernel>_f16`` /
``_bf16``) on their own storage: the result is exactly the float32 kernel's result on the widened input, rounded
to the type (round-to-nearest-even), with no copy in Python; logsumexp and the cross-entropy loss stay float32
(as the C library returns them). The GIL is released while a kernel runs. simdmax.torch has the PyTorch operators.
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import SimdmaxError

__version__ = "0.1.0"
__all__ = ["softmax", "log_softmax", "logsumexp", "sparsemax", "stablemax", "log_stablemax", "cross_entropy",
           "isa", "set_isa", "supported_isas", "set_num_threads", "get_num_threads", "set_streaming_threshold",
           "get_streaming_threshold", "library_version",
           "SimdmaxError", "__version__"]

_ISA_NAMES = ["scalar", "avx2", "avx512", "neon", "avx512bf16"]


def library_version():
    """The C library's version string (smx_version)."""
    return _lib.lib.smx_version().decode()


def isa():
    """The name of the ISA whose kernels run now ("scalar", "avx2", "avx512", "neon" or "avx512bf16")."""
    return _lib.lib.smx_isa_name(_lib.lib.smx_active_isa()).decode()


def supported_isas():
    """The ISAs compiled in that this CPU supports (every one gives the same bits)."""
    return [name for i, name in enumerate(_ISA_NAMES) if _lib.lib.smx_isa_supported(i)]


def set_isa(name):
    """Switch every call (all threads) to the named ISA; SimdmaxError if this CPU lacks it."""
    if name not in _ISA_NAMES:
        raise ValueError(f"unknown ISA {name!r}; known: {_ISA_NAMES}")
    _lib.check(_lib.lib.smx_set_isa(_ISA_NAMES.index(name)))


def set_num_threads(n):
    """The calling thread's simdmax calls use n threads (a pool of its own; 1: off, the default). Results are
    bit-identical for every thread count. simdmax.torch's operators follow torch.get_num_threads() instead."""
    _lib.check(_lib.lib.smx_set_num_threads(int(n)))


def get_num_threads():
    """The threads the calling thread's simdmax calls use (1 when off)."""
    return int(_lib.lib.smx_get_num_threads())


_NEVER = ctypes.c_size_t(-1).value  # SIZE_MAX


def set_streaming_threshold(nbytes):
    """The calling thread's calls whose output takes at least nbytes write it around the caches (non-temporal
    stores; default: the last-level cache's size; 0: every call; None: never). The same results either way."""
    if nbytes is not None and int(nbytes) < 0:
        raise ValueError(f"a byte count, not {nbytes}")
    _lib.lib.smx_set_streaming_threshold(_NEVER if nbytes is None else min(int(nbytes), _NEVER))


def get_streaming_threshold():
    """The output size in bytes from which the calling thread's calls stream their outputs (None: never)."""
    v = int(_lib.lib.smx_get_streaming_threshold())
    return None if v == _NEVER else v


def _suffix(dtype):
    """The C entry points' suffix for a dtype: f32, f16, bf16 (an ml_dtypes.bfloat16 array), else None."""
    if dtype == np.float32:
        return "f32"
    if dtype == np.float16:
        return "f16"
    if dtype.name == "bfloat16" and dtype.itemsize == 2 and dtype.kind == "V":  # ml_dtypes' bfloat16
        return "bf16"
    return None


def _float(x, what="x"):
    x = np.asarray(x)
    if _suffix(x.dtype) is None:
        raise TypeError(f"simdmax: {what} must be float32, float16 or bfloat16, not {x.dtype} "
                        "(convert with .astype(np.float32))")
    if x.ndim == 0:
        raise ValueError(f"simdmax: {what} must have at least one dimension")
    return x


def _f32(x, what="x"):
    x = np.asarray(x)
    if x.dtype != np.float32:
        raise TypeError(f"simdmax: {what} must be float32, not {x.dtype} (convert with .astype(np.float32))")
    if x.ndim == 0:
        raise ValueError(f"simdmax: {what} must have at least one dimension")
    return x


def _widen(xr, rows, n, ld):
    """A float32 copy (rows x n, contiguous) of 16-bit rows, by the C library's exact conversion."""
    sfx = _suffix(xr.dtype)
    if sfx == "f32":
        return xr, ld
    w = np.empty((rows, n), np.float32)
    if rows and n:
        _lib.call(f"f32_from_{sfx}", rows, n, xr.ctypes.data, ld, w.ctypes.data, n)
    return w, n


def _narrow(w, dtype):
    """float32 array w (C-contiguous) rounded to the 16-bit dtype by the C library's conversion (RNE)."""
    sfx = _suffix(dtype)
    if sfx == "f32":
        return w
    y = np.empty(w.shape, dtype)
    n = w.shape[-1] if w.ndim else 1
    rows = w.size // n if n else 0
    if rows and n:
        _lib.call(f"{sfx}_from_f32", rows, n, w.ctypes.data, n, y.ctypes.data, n)
    return y


def rows_view(x):
    """(array, rows, n, ld): x (last axis = a row) as rows of n floats ld apart, copied only when needed."""
    n = x.shape[-1]
    rows = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.ndim > 1 else 1
    if x.flags.c_contiguous:
        return x, rows, n, n
    e = x.itemsize
    if x.ndim >= 2 and x.strides[-1] == e:
        lead = [(size, st) for size, st in zip(x.shape[:-1], x.strides[:-1]) if size != 1]
        if not lead:  # one row, contiguous
            return x, rows, n, n
        ld = lead[-1][1]
        evenly = all(lead[i][1] == lead[i + 1][1] * lead[i + 1][0] for i in range(len(lead) - 1))
        if ld > 0 and ld % e == 0 and ld // e >= n and evenly:
            return x, rows, n, ld // e
    x = np.ascontiguousarray(x)
    return x, rows, n, n


def _last(x, axis):
    axis = axis % x.ndim
    return (np.moveaxis(x, axis, -1), axis) if axis != x.ndim - 1 else (x, None)


def _empty(shape, dtype):
    """A kernel's output array, large ones advised huge pages (_lib.advise_huge)."""
    y = np.empty(shape, dtype)
    _lib.advise_huge(y.ctypes.data, y.nbytes)
    return y


def _map(kernel, x, axis):
    x = _float(x)
    xv, moved = _last(x, axis)
    xr, rows, n, ld = rows_view(xv)
    y = _empty(xv.shape, x.dtype)
    if rows and n:
        _lib.call(f"{kernel}_{_suffix(x.dtype)}", rows, n, xr.ctypes.data, ld, y.ctypes.data, n)
    elif n == 0 and rows:
        raise ValueError("simdmax: the axis has length 0")
    return np.moveaxis(y, -1, moved) if moved is not None else y


def softmax(x, axis=-1):
    """exp(x - max) / sum exp(x - max) along axis (<= 2 ulp; rows of all -inf give 0, see the C header)."""
    return _map("softmax", x, axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along axis, accurate also far below 0."""
    return _map("log_softmax", x, axis)


def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along axis (Martins & Astudillo 2016)."""
    return _map("sparsemax", x, axis)


def stablemax(x, axis=-1):
    """s(x) / sum s(x) with s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0) (Prieto et al. 2025)."""
    return _map("stablemax", x, axis)


def log_stablemax(x, axis=-1):
    """log(stablemax(x)) along axis."""
    return _map("log_stablemax", x, axis)


def logsumexp(x, axis=-1):
    """log(sum(exp(x))) along axis; the result has x's shape without that axis, float32 for every input type
    (the C library's logsumexp output is float also for 16-bit inputs)."""
    x = _float(x)
    xv, _ = _last(x, axis)
    xr, rows, n, ld = rows_view(xv)
    out = np.empty(xv.shape[:-1], np.float32)
    if rows:
        _lib.call(f"logsumexp_{_suffix(x.dtype)}", rows, n, xr.ctypes.data, ld, out.ctypes.data)
    return out


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  normalizer="softmax", z_loss=0.0, softcap=None, grad=False, grad_scale=1.0):
    """The cross-entropy of logits (..., C) (classes on the LAST axis, NumPy style; simdmax.torch.cross_entropy
    follows PyTorch's class dimension 1) against class indices (int64 or int32, shape logits.shape[:-1]) or
    probabilities (float32 or the logits' type, logits' shape). normalizer: "softmax", "stablemax" or "sparsemax"; z_loss (softmax):
    adds z_loss * lse^2 per row; softcap: logits become softcap * tanh(logits / softcap) first.
    Returns the loss (a float for "sum"/"mean", an array of logits.shape[:-1] for "none"; float32), or
    (loss, dlogits) with grad=True: dlogits = grad_scale * the gradient of the returned loss, of the logits' type.
    float16 / bfloat16 logits run smx_cross_entropy_f16 / _bf16 on their storage, with probability targets of
    their type smx_cross_entropy_soft_f16 / _bf16; float32 targets beside 16-bit logits are not rounded: the logits
    are widened to a float32 copy and the gradient rounded back (the same bits the 16-bit contract gives).
    Semantics: include/simdmax.h; unlike PyTorch a mean over only ignored rows is 0, and ignored rows never
    count in the mean."""
    x = _float(logits, "logits")
    sfx = _suffix(x.dtype)
    xr, rows, n, ld = rows_view(x)
    t = np.asarray(target)
    o = None
    w = None
    if weight is not None:
        w = np.ascontiguousarray(_f32(weight, "weight"))
        if w.shape != (n,):
            raise ValueError(f"simdmax: weight must have shape ({n},), not {w.shape}")
    soft = np.issubdtype(t.dtype, np.floating) or _suffix(t.dtype) == "bf16"
    if soft:
        if t.shape != x.shape:
            raise ValueError(f"simdmax: probability targets must have the logits' shape {x.shape}, not {t.shape}")
        q, _, _, ldq = rows_view(t if t.dtype == x.dtype else _f32(t, "target"))
    else:
        if t.shape != x.shape[:-1]:
            raise ValueError(f"simdmax: class-index targets must have shape {x.shape[:-1]}, not {t.shape}")
        if t.dtype not in (np.int64, np.int32):
            t = t.astype(np.int64)
        t = np.ascontiguousarray(t)
    o = _lib.xent_options(normalizer, reduction, ignore_index, label_smoothing, z_loss, softcap,
                          w.ctypes.data if w is not None else None, t.dtype == np.int32)
    loss = np.zeros(x.shape[:-1] if reduction == "none" else (1,), np.float32)
    if soft and q.dtype == x.dtype:
        d = _empty(x.shape, x.dtype) if grad else None
        _lib.call(f"cross_entropy_soft_{sfx}", rows, n, xr.ctypes.data, ld, q.ctypes.data, ldq, o, loss.ctypes.data,
                  d.ctypes.data if grad else None, n, grad_scale)
    elif soft:
        xw, ldw = _widen(xr, rows, n, ld)
        d = np.empty(x.shape, np.float32) if grad else None
        _lib.call("cross_entropy_soft_f32", rows, n, xw.ctypes.data, ldw, q.ctypes.data, ldq, o, loss.ctypes.data,
                  d.ctypes.data if grad else None, n, grad_scale)
        d = _narrow(d, x.dtype) if grad else None
    else:
        d = _empty(x.shape, x.dtype) if grad else None
        _lib.call(f"cross_entropy_{sfx}", rows, n, xr.ctypes.data, ld, t.ctypes.data, o, loss.ctypes.data,
                  d.ctypes.data if grad else None, n, grad_scale)
    out = loss if reduction == "none" else np.float32(loss[0])
    return (out, d) if grad else out
