"""The C library through ctypes: loading, prototypes, the options struct and status checks.

ctypes (not a C extension): nothing to compile beyond the C library itself, the same package works against
an installed libsimdmax, and ctypes.CDLL releases the GIL for the duration of every call.
"""
import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load():
    env = os.environ.get("SIMDMAX_LIBRARY")
    candidates = [env] if env else []
    candidates += [os.path.join(_HERE, name) for name in sorted(os.listdir(_HERE)) if name.startswith("libsimdmax")]
    found = ctypes.util.find_library("simdmax")
    if found:
        candidates.append(found)
    errors = []
    for path in candidates:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError(
        "simdmax: libsimdmax not found (set SIMDMAX_LIBRARY=/path/to/libsimdmax.so, install the C library, "
        "or pip install the package with its bundled build); tried: " + "; ".join(errors or ["nothing found"]))


lib = _load()

c_size = ctypes.c_size_t
c_fp = ctypes.c_void_p  # every array argument is passed as an address (numpy .ctypes.data, torch .data_ptr())


class XentOptions(ctypes.Structure):
    """smx_xent_options (include/simdmax.h)."""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("normalizer", ctypes.c_int),
        ("reduction", ctypes.c_int),
        ("ignore_index", ctypes.c_int64),
        ("label_smoothing", ctypes.c_float),
        ("z_loss", ctypes.c_float),
        ("softcap", ctypes.c_float),
        ("class_weight", ctypes.c_void_p),
        ("target_type", ctypes.c_int),
    ]


NORMALIZERS = {"softmax": 0, "stablemax": 1, "sparsemax": 2}
REDUCTIONS = {"none": 0, "sum": 1, "mean": 2}
TARGET_I64, TARGET_I32 = 0, 1


class SimdmaxError(ValueError):
    """A failed simdmax call: the status name and smx_last_error_message()."""

    def __init__(self, status, message):
        super().__init__(f"{message} ({lib.smx_strerror(status).decode()})")
        self.status = status


def _proto(name, *args, restype=ctypes.c_int):
    f = getattr(lib, name)
    f.argtypes = list(args)
    f.restype = restype
    return f


_proto("smx_version", restype=ctypes.c_char_p)
_proto("smx_strerror", ctypes.c_int, restype=ctypes.c_char_p)
_proto("smx_last_error_message", restype=ctypes.c_char_p)
_proto("smx_active_isa")
_proto("smx_isa_supported", ctypes.c_int)
_proto("smx_set_isa", ctypes.c_int)
_proto("smx_isa_name", ctypes.c_int, restype=ctypes.c_char_p)
_proto("smx_xent_options_default", ctypes.POINTER(XentOptions), restype=None)
_proto("smx_set_num_threads", c_size)
_proto("smx_get_num_threads", restype=c_size)
_proto("smx_set_streaming_threshold", c_size, restype=None)
_proto("smx_get_streaming_threshold", restype=c_size)
# every kernel has a float32 entry point and two 16-bit ones (bfloat16 and binary16 bit patterns, uint16 in C)
SUFFIXES = ("f32", "bf16", "f16")
_OPTS = ctypes.POINTER(XentOptions)
for _s in SUFFIXES:
    for _k in ("softmax", "log_softmax", "sparsemax", "stablemax", "log_stablemax"):
        _proto(f"smx_{_k}_{_s}", c_size, c_size, c_fp, c_size, c_fp, c_size)
    _proto(f"smx_logsumexp_{_s}", c_size, c_size, c_fp, c_size, c_fp)
    for _k in ("softmax_backward", "log_softmax_backward", "sparsemax_backward"):
        _proto(f"smx_{_k}_{_s}", c_size, c_size, c_fp, c_size, c_fp, c_size, c_fp, c_size)
    _proto(f"smx_stablemax_backward_{_s}", c_size, c_size, c_fp, c_size, c_fp, c_size, c_fp, c_size, c_fp, c_size)
    _proto(f"smx_cross_entropy_{_s}", c_size, c_size, c_fp, c_size, c_fp, _OPTS, c_fp, c_fp, c_size, ctypes.c_float)
    _proto(f"smx_cross_entropy_backward_{_s}", c_size, c_size, c_fp, c_size, c_fp, _OPTS, c_fp, c_fp, c_size, c_fp,
           c_size)
for _s in ("bf16", "f16"):
    _proto(f"smx_{_s}_from_f32", c_size, c_size, c_fp, c_size, c_fp, c_size)
    _proto(f"smx_f32_from_{_s}", c_size, c_size, c_fp, c_size, c_fp, c_size)
_proto("smx_cross_entropy_forward_f32", c_size, c_size, c_fp, c_size, c_fp, _OPTS, c_fp, c_fp)
for _s in SUFFIXES:
    _proto(f"smx_cross_entropy_soft_{_s}", c_size, c_size, c_fp, c_size, c_fp, c_size, _OPTS, c_fp, c_fp, c_size,
           ctypes.c_float)


def check(status):
    if status != 0:
        raise SimdmaxError(status, lib.smx_last_error_message().decode())


def call(name, *args):
    """Call smx_<name> (the GIL is released during the call) and raise SimdmaxError on failure."""
    check(getattr(lib, "smx_" + name)(*args))


def xent_options(normalizer="softmax", reduction="mean", ignore_index=-100, label_smoothing=0.0, z_loss=0.0,
                 softcap=None, weight_ptr=None, target_i32=False):
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {sorted(NORMALIZERS)}, not {normalizer!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {sorted(REDUCTIONS)}, not {reduction!r}")
    o = XentOptions()
    lib.smx_xent_options_default(ctypes.byref(o))
    o.normalizer = NORMALIZERS[normalizer]
    o.reduction = REDUCTIONS[reduction]
    o.ignore_index = int(ignore_index)
    o.label_smoothing = float(label_smoothing)
    o.z_loss = float(z_loss)
    o.softcap = float(softcap) if softcap is not None else 0.0
    o.class_weight = weight_ptr
    o.target_type = TARGET_I32 if target_i32 else TARGET_I64
    return o


# ---- huge pages for large outputs ----
# A fresh output of hundreds of MB (the cross-entropy's gradient of 4096 x 32000 logits) is first touched by the
# kernel, which then pays a page fault per 4 KiB page: about 90 ms of a 180 ms bfloat16 forward + backward on the
# 2-vCPU VM of the README's table, against 54 ms of kernel. Where the kernel enables transparent huge pages on
# request (Linux, /sys/kernel/mm/transparent_hugepage/enabled "madvise" or "always"), outputs of at least
# HUGE_MIN_BYTES are advised MADV_HUGEPAGE before the kernel runs: one fault per 2 MiB. Advice only (the memory and
# its owner are unchanged); SIMDMAX_HUGEPAGES=0 turns it off. PyTorch's own allocator does the same for all its
# large allocations under THP_MEM_ALLOC_ENABLE=1.
HUGE_MIN_BYTES = 8 << 20
_HUGE = 2 << 20
_MADV_HUGEPAGE = 14


def _madvise():
    if os.environ.get("SIMDMAX_HUGEPAGES", "1") == "0" or not os.path.exists("/sys/kernel/mm/transparent_hugepage"):
        return None
    try:
        f = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    f.restype = ctypes.c_int
    return f


_madvise_fn = _madvise()


def advise_huge(addr, nbytes):
    """Advise huge pages for the whole 2 MiB pages inside [addr, addr + nbytes) of a fresh output buffer (no-op
    below HUGE_MIN_BYTES, off Linux, or with SIMDMAX_HUGEPAGES=0); a refused advice changes nothing."""
    if _madvise_fn is None or nbytes < HUGE_MIN_BYTES:
        return
    lo = (addr + _HUGE - 1) // _HUGE * _HUGE
    hi = (addr + nbytes) // _HUGE * _HUGE
    if hi > lo:
        _madvise_fn(lo, hi - lo, _MADV_HUGEPAGE)
