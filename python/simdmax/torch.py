"""PyTorch operators over simdmax: torch.library custom ops (schema "simdmax::<name>", fake kernels for
torch.compile, autograd through simdmax's C backward kernels) and nn.Module wrappers.

CPU tensors only. float32, bfloat16 and float16 run natively: the ops call the C library's smx_<kernel>_f32 /
_bf16 / _f16 and smx_cross_entropy_bf16 / _f16 (probability targets of the logits' type:
smx_cross_entropy_soft_bf16 / _f16) on the tensors' own storage (no copy for contiguous rows or a row stride),
forward and backward; a 16-bit result is exactly the float32 kernel's result on the widened input, rounded to the
type (round-to-nearest-even). Two backward passes without a C kernel of their own (log_stablemax, logsumexp), the
probability-target cross-entropy's backward for reduction="none" (per-row upstream gradients) and 16-bit logits
with targets of another type compute in float32 on a widened copy and round once. float64 and other dtypes are converted to float32 and back. Losses and logsumexp are
computed in float32 and returned in the input's dtype (as PyTorch does).
The GIL is released while a kernel runs, so the ops can run concurrently from worker threads. Each op uses
torch.get_num_threads() threads (simdmax's own pool of the calling thread, smx_set_num_threads; results are
bit-identical for every thread count).

Where simdmax differs from PyTorch (pinned by python/tests/test_torch.py):
- cross_entropy with reduction="mean" over rows that are all ignore_index returns 0 (PyTorch: nan), with a
  zero gradient; ignored rows never count in the mean, also with label smoothing (as in PyTorch 2.x).
- +inf logits are defined: with k entries +inf, p = 1/k on each (PyTorch: nan). A row of all -inf gives
  p = 0 (softmax 0, log_softmax -inf, logsumexp -inf; PyTorch: nan for softmax), a zero softmax backward, and
  a cross-entropy of +inf whose gradient stays p - q = -q.
- every result below FLT_MIN (probabilities, gradients, losses) is +0, -0 included (PyTorch returns subnormals).
- z_loss (not in PyTorch) adds z_loss * lse^2 per row, unweighted; with class weights and reduction="mean" the
  cross-entropy terms are divided by the sum of the rows' target weights and the z-loss by the number of
  counted rows (as PaLM-style implementations such as flash-attn and Liger average it).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from . import _lib

__all__ = ["softmax", "log_softmax", "logsumexp", "sparsemax", "stablemax", "log_stablemax", "cross_entropy",
           "Softmax", "LogSoftmax", "Sparsemax", "Stablemax", "LogStablemax", "CrossEntropyLoss"]

_F32 = torch.float32
_SFX = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}  # the C entry points' suffixes


def _ptr(t):
    return t.data_ptr() if t is not None else None


def _threads():
    """This thread's simdmax calls use torch.get_num_threads() threads (set only when it changed)."""
    n = torch.get_num_threads()
    if _lib.lib.smx_get_num_threads() != n:
        _lib.check(_lib.lib.smx_set_num_threads(n))


def _is_rows(x):
    """x is 2-D with unit-stride rows evenly spaced at least n apart: the C library takes it as it is."""
    rows, n = x.shape
    return (n <= 1 or x.stride(1) == 1) and (rows <= 1 or x.stride(0) >= n)


def _ld(x):
    """The leading dimension (row stride, in elements) of a 2-D tensor that _is_rows."""
    return x.stride(0) if x.shape[0] > 1 else x.shape[1]


def _rows(x, dtype=None):
    """x (2-D) as rows the C library takes: cast to dtype if given, copied only when the layout needs it."""
    if dtype is not None and x.dtype != dtype:
        x = x.to(dtype)
    return x if _is_rows(x) else x.contiguous()


def _check2d(x, *others):
    if x.device.type != "cpu":
        raise RuntimeError("simdmax: CPU tensors only")
    if x.dtype not in _SFX or x.dim() != 2 or not _is_rows(x):
        raise RuntimeError("simdmax internal: ops take 2-D float32, bfloat16 or float16 tensors with unit-stride "
                           "rows")
    for o in others:
        if o.dtype != x.dtype or o.shape != x.shape or not _is_rows(o):
            raise RuntimeError("simdmax internal: the op's tensors must share dtype, shape and row layout")
    _threads()
    return _SFX[x.dtype]


def _widen(x):
    """A contiguous float32 copy of 2-D 16-bit rows (the C library's exact conversion); float32 as it is."""
    sfx = _SFX[x.dtype]
    if sfx == "f32":
        return x
    w = torch.empty(x.shape, dtype=_F32)
    if x.numel():
        _lib.call(f"f32_from_{sfx}", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), w.data_ptr(), x.shape[1])
    return w


def _narrow(w, dtype):
    """Contiguous float32 w (any shape) rounded to dtype by the C library's conversion (round-to-nearest-even;
    a NaN becomes the quiet NaN 0x7fc0 / 0x7e00, where torch's .to() may keep its sign and payload)."""
    sfx = _SFX[dtype]
    if sfx == "f32":
        return w
    y = torch.empty(w.shape, dtype=dtype)
    if w.numel():
        _lib.call(f"{sfx}_from_f32", 1, w.numel(), w.data_ptr(), w.numel(), y.data_ptr(), w.numel())
    return y


def _new(x):
    return x.new_empty(x.shape)  # contiguous, x's dtype (the fake kernels return the same)


def _out(x, dtype=None):
    """A kernel's output: _new(x) (or in dtype), large ones advised huge pages (_lib.advise_huge)."""
    y = x.new_empty(x.shape, dtype=dtype or x.dtype)
    _lib.advise_huge(y.data_ptr(), y.numel() * y.element_size())
    return y


# ---- forward / backward ops on [rows, n] float32 / bfloat16 / float16 rows ----
def _def_map(name):
    @torch.library.custom_op(f"simdmax::{name}", mutates_args=())
    def op(x: Tensor) -> Tensor:
        sfx = _check2d(x)
        y = _out(x)
        if x.numel():
            _lib.call(f"{name}_{sfx}", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), y.data_ptr(), x.shape[1])
        return y

    @op.register_fake
    def _(x):
        return _new(x)

    return op


def _def_bwd(name):
    @torch.library.custom_op(f"simdmax::{name}", mutates_args=())
    def op(y: Tensor, dy: Tensor) -> Tensor:
        sfx = _check2d(y, dy)
        dx = _out(y)
        if y.numel():
            n = y.shape[1]
            _lib.call(f"{name}_{sfx}", y.shape[0], n, y.data_ptr(), _ld(y), dy.data_ptr(), _ld(dy), dx.data_ptr(), n)
        return dx

    @op.register_fake
    def _(y, dy):
        return _new(y)

    return op


_softmax = _def_map("softmax")
_log_softmax = _def_map("log_softmax")
_sparsemax = _def_map("sparsemax")
_stablemax = _def_map("stablemax")
_log_stablemax = _def_map("log_stablemax")
_softmax_bwd = _def_bwd("softmax_backward")
_log_softmax_bwd = _def_bwd("log_softmax_backward")
_sparsemax_bwd = _def_bwd("sparsemax_backward")


@torch.library.custom_op("simdmax::stablemax_backward", mutates_args=())
def _stablemax_bwd(x: Tensor, y: Tensor, dy: Tensor) -> Tensor:
    sfx = _check2d(x, y, dy)
    dx = _out(x)
    if x.numel():
        n = x.shape[1]
        _lib.call(f"stablemax_backward_{sfx}", x.shape[0], n, x.data_ptr(), _ld(x), y.data_ptr(), _ld(y),
                  dy.data_ptr(), _ld(dy), dx.data_ptr(), n)
    return dx


@_stablemax_bwd.register_fake
def _(x, y, dy):
    return _new(x)


@torch.library.custom_op("simdmax::log_stablemax_backward", mutates_args=())
def _log_stablemax_bwd(x: Tensor, y: Tensor, dy: Tensor) -> Tensor:
    """d log p_i / dx_j = r_j (delta_ij - p_j), r = s'/s = 1 / (1 + |x|): the log-softmax backward
    (dy - exp(y) sum dy, with y = log p) divided by 1 + |x|; 16-bit: in float32 on widened copies, rounded once."""
    _check2d(x, y, dy)
    dtype = x.dtype
    x, y, dy = _widen(x), _widen(y), _widen(dy)
    dx = _log_softmax_bwd(y, dy)
    dx.div_(x.abs().add_(1.0))
    return _narrow(dx, dtype)


@_log_stablemax_bwd.register_fake
def _(x, y, dy):
    return _new(x)


@torch.library.custom_op("simdmax::logsumexp", mutates_args=())
def _logsumexp(x: Tensor) -> Tensor:
    """The log-sum-exp per row in x's dtype (16-bit: the C library's float output rounded once)."""
    sfx = _check2d(x)
    out = x.new_empty(x.shape[0], dtype=_F32)
    if x.numel():
        _lib.call(f"logsumexp_{sfx}", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), out.data_ptr())
    return _narrow(out, x.dtype)


@_logsumexp.register_fake
def _(x):
    return x.new_empty(x.shape[0])


@torch.library.custom_op("simdmax::logsumexp_backward", mutates_args=())
def _logsumexp_bwd(x: Tensor, grad: Tensor) -> Tensor:
    """d lse / dx = softmax(x) times the upstream gradient per row; 16-bit x: softmax of the widened rows in
    float32 times the widened gradient, the product rounded once."""
    _check2d(x)
    dx = _softmax(_widen(x))
    dx.mul_(grad.to(_F32).reshape(-1, 1))
    return _narrow(dx, x.dtype)


@_logsumexp_bwd.register_fake
def _(x, grad):
    return _new(x)


def _save_out(ctx, inputs, output):
    ctx.save_for_backward(output)


def _save_in_out(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], output)


def _g(ctx, g, i=0):
    """the upstream gradient as rows of the saved tensor i's dtype (autograd gives the output's dtype)"""
    return _rows(g, ctx.saved_tensors[i].dtype)


_softmax.register_autograd(lambda ctx, g: _softmax_bwd(ctx.saved_tensors[0], _g(ctx, g)), setup_context=_save_out)
_log_softmax.register_autograd(lambda ctx, g: _log_softmax_bwd(ctx.saved_tensors[0], _g(ctx, g)),
                               setup_context=_save_out)
_sparsemax.register_autograd(lambda ctx, g: _sparsemax_bwd(ctx.saved_tensors[0], _g(ctx, g)),
                             setup_context=_save_out)
_stablemax.register_autograd(lambda ctx, g: _stablemax_bwd(*ctx.saved_tensors, _g(ctx, g)),
                             setup_context=_save_in_out)
_log_stablemax.register_autograd(lambda ctx, g: _log_stablemax_bwd(*ctx.saved_tensors, _g(ctx, g)),
                                 setup_context=_save_in_out)
_logsumexp.register_autograd(lambda ctx, g: _logsumexp_bwd(ctx.saved_tensors[0], g),
                             setup_context=lambda ctx, inputs, output: ctx.save_for_backward(inputs[0]))


# ---- cross-entropy ops on [rows, n] logits ----
def _opts(weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap, target=None):
    return _lib.xent_options(normalizer, reduction, ignore_index, label_smoothing, z_loss, softcap or None,
                             _ptr(weight), target is not None and target.dtype == torch.int32)


_RED = ["none", "sum", "mean"]
_NORM = ["softmax", "stablemax", "sparsemax"]


@torch.library.custom_op("simdmax::cross_entropy", mutates_args=())
def _xent(x: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int, reduction: int,
          label_smoothing: float, normalizer: int, z_loss: float, softcap: float) -> Tensor:
    """The loss of float32 / bfloat16 / float16 logits (smx_cross_entropy_forward_f32, or the 16-bit fused call
    without gradient: the loss bits of the fused call on the widened logits), in x's dtype (16-bit: the C
    library's float loss rounded once)."""
    return _xent_call(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap)[0]


def _xent_call(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap, grad=False):
    """The loss in x's dtype and, with grad, the gradient for grad_scale 1 (the fused C call), else None (float32:
    the forward entry point, which writes the same loss bits)."""
    sfx = _check2d(x)
    o = _opts(weight, ignore_index, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap, target)
    loss = x.new_empty(x.shape[0] if reduction == 0 else (), dtype=_F32)
    dx = _out(x) if grad else None
    if sfx == "f32" and dx is None:
        _lib.call("cross_entropy_forward_f32", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), target.data_ptr(), o,
                  loss.data_ptr(), None)
    else:
        _lib.call(f"cross_entropy_{sfx}", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), target.data_ptr(), o,
                  loss.data_ptr(), _ptr(dx), x.shape[1], 1.0)
    return _narrow(loss, x.dtype), dx


@_xent.register_fake
def _(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap):
    return x.new_empty(x.shape[0] if reduction == 0 else ())


@torch.library.custom_op("simdmax::cross_entropy_backward", mutates_args=())
def _xent_bwd(x: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int, reduction: int,
              label_smoothing: float, normalizer: int, z_loss: float, softcap: float, grad: Tensor) -> Tensor:
    sfx = _check2d(x)
    o = _opts(weight, ignore_index, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap, target)
    grad = grad.to(_F32).contiguous()
    dx = _out(x)
    # (16-bit: the f32 backward on the widened logits, the gradient rounded once; per-row upstream gradients too)
    stride = 1 if reduction == 0 and grad.dim() == 1 and grad.numel() == x.shape[0] else 0
    _lib.call(f"cross_entropy_backward_{sfx}", x.shape[0], x.shape[1], x.data_ptr(), _ld(x), target.data_ptr(), o,
              None, grad.data_ptr(), stride, dx.data_ptr(), x.shape[1])
    return dx


@_xent_bwd.register_fake
def _(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap, grad):
    return _new(x)


@torch.library.custom_op("simdmax::cross_entropy_with_grad", mutates_args=())
def _xent_grad(x: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int, reduction: int,
               label_smoothing: float, normalizer: int, z_loss: float, softcap: float) -> Tuple[Tensor, Tensor]:
    """The loss (as _xent) and the gradient for an upstream gradient of 1, in one fused C call
    (smx_cross_entropy_<sfx> with grad_scale 1): the forward of a cross_entropy whose input requires grad. Its
    backward returns that gradient when the upstream gradient is 1 (loss.backward() of a mean or sum; every row's 1
    for "none"), the bits of smx_cross_entropy_backward_f32 with grad_loss 1, and calls _xent_bwd otherwise."""
    return _xent_call(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap, True)


@_xent_grad.register_fake
def _(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap):
    return x.new_empty(x.shape[0] if reduction == 0 else ()), _new(x)


def _tracing(t):
    """t is not a real tensor (torch.compile, export, opcheck's AOT test: fake or functional tensors)."""
    return torch.compiler.is_compiling() or torch._guards.detect_fake_mode(t) is not None


def _xent_grad_setup(ctx, inputs, output):
    _xent_setup(ctx, inputs, output)
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)  # (else autograd fills a zero gradient of the gradient output: 100 ms)
    ctx.dx = output[1]  # not saved_tensors: the backward hands over its only reference (no copy into x.grad)


def _xent_grad_backward(ctx, g, _):
    x, target, weight = ctx.saved_tensors
    dx, ctx.dx = ctx.dx, None
    if g is None:  # no gradient reached the loss (materialize_grads off): none for x
        return None, None, None, None, None, None, None, None, None
    # the gradient the forward made, for an upstream gradient of 1 (on real tensors: a test on data, which tracing
    # with fake tensors cannot take)
    if dx is not None and not _tracing(g) and bool((g == 1).all()):
        return dx, None, None, None, None, None, None, None, None
    del dx
    return _xent_bwd(x, target, weight, *ctx.args, g), None, None, None, None, None, None, None, None


_xent_grad.register_autograd(_xent_grad_backward, setup_context=_xent_grad_setup)


def _xent_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], inputs[1], inputs[2])
    ctx.args = inputs[3:]


def _xent_backward(ctx, g):
    x, target, weight = ctx.saved_tensors
    return _xent_bwd(x, target, weight, *ctx.args, g), None, None, None, None, None, None, None, None


_xent.register_autograd(_xent_backward, setup_context=_xent_setup)


@torch.library.custom_op("simdmax::cross_entropy_soft", mutates_args=())
def _xent_soft(x: Tensor, q: Tensor, weight: Optional[Tensor], reduction: int, label_smoothing: float,
               normalizer: int, z_loss: float, softcap: float) -> Tensor:
    """The loss in x's dtype: 16-bit logits and targets of their type by the 16-bit entry point, other mixes on
    float32 copies; the float loss rounded once."""
    _check2d(x)
    o = _opts(weight, -100, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap)
    dtype = x.dtype
    q = _rows(q)
    sfx = _SFX[dtype] if q.dtype == dtype else "f32"
    if sfx == "f32":
        x, q = _widen(x), _widen(q)
    loss = x.new_empty(x.shape[0] if reduction == 0 else (), dtype=_F32)
    n = x.shape[1]
    _lib.call(f"cross_entropy_soft_{sfx}", x.shape[0], n, x.data_ptr(), _ld(x), q.data_ptr(), _ld(q), o,
              loss.data_ptr(), None, n, 1.0)
    return _narrow(loss, dtype)


@_xent_soft.register_fake
def _(x, q, weight, reduction, label_smoothing, normalizer, z_loss, softcap):
    return x.new_empty(x.shape[0] if reduction == 0 else ())


@torch.library.custom_op("simdmax::cross_entropy_soft_backward", mutates_args=())
def _xent_soft_bwd(x: Tensor, q: Tensor, weight: Optional[Tensor], reduction: int, label_smoothing: float,
                   normalizer: int, z_loss: float, softcap: float, grad: Tensor) -> Tensor:
    """The gradient of the loss (the C call recomputes the loss, discarded); for "none" each row is then
    scaled by its upstream gradient (in float32: 16-bit rows on float32 copies, rounded once)."""
    _check2d(x)
    o = _opts(weight, -100, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap)
    dtype = x.dtype
    q = _rows(q)
    n = x.shape[1]
    if reduction != 0 and q.dtype == dtype:  # one upstream gradient: the C call's grad_scale, any dtype
        dx = _out(x)
        _lib.call(f"cross_entropy_soft_{_SFX[dtype]}", x.shape[0], n, x.data_ptr(), _ld(x), q.data_ptr(), _ld(q), o,
                  None, dx.data_ptr(), n, float(grad))
        return dx
    x, q = _widen(x), _widen(q)
    dx = _out(x, _F32)
    scale = 1.0 if reduction == 0 else float(grad)
    _lib.call("cross_entropy_soft_f32", x.shape[0], n, x.data_ptr(), _ld(x), q.data_ptr(), _ld(q), o, None,
              dx.data_ptr(), n, scale)
    if reduction == 0:
        dx.mul_(grad.to(_F32).reshape(-1, 1))
    return _narrow(dx, dtype)


@_xent_soft_bwd.register_fake
def _(x, q, weight, reduction, label_smoothing, normalizer, z_loss, softcap, grad):
    return _new(x)


def _xent_soft_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], inputs[1], inputs[2])
    ctx.args = inputs[3:]


def _xent_soft_backward(ctx, g):
    x, q, weight = ctx.saved_tensors
    return _xent_soft_bwd(x, q, weight, *ctx.args, g), None, None, None, None, None, None, None


_xent_soft.register_autograd(_xent_soft_backward, setup_context=_xent_soft_setup)


# ---- public functions ----
def _kernel_dtype(dtype):
    return dtype if dtype in _SFX else _F32  # float64 and others: float32 kernels


def _as_rows(x, dim):
    """x with dim moved last, as [rows, n] rows of a kernel dtype (float32, bfloat16, float16), copied only when
    the layout (or a float64 input) needs it, and how to undo it."""
    dtype = x.dtype
    dim = dim % x.dim() if x.dim() else 0
    xm = x.movedim(dim, -1) if dim != x.dim() - 1 else x
    shape = xm.shape
    x2 = xm.reshape(-1, shape[-1]) if xm.dim() else xm.reshape(1, 1)
    return _rows(x2, _kernel_dtype(dtype)), shape, dim, dtype


def _from_rows(y, shape, dim, dtype, ndim):
    y = y.reshape(shape)
    if dim != ndim - 1 and ndim:
        y = y.movedim(-1, dim)
    return y.to(dtype) if y.dtype != dtype else y


def _mapper(op, doc):
    def f(x: Tensor, dim: int = -1) -> Tensor:
        x2, shape, d, dtype = _as_rows(x, dim)
        return _from_rows(op(x2), shape, d, dtype, x.dim())

    f.__doc__ = doc
    return f


softmax = _mapper(_softmax, "softmax(x, dim=-1): like torch.softmax (float32/bfloat16/float16 kernels; see the "
                            "module notes).")
log_softmax = _mapper(_log_softmax, "log_softmax(x, dim=-1): like torch.log_softmax.")
sparsemax = _mapper(_sparsemax, "sparsemax(x, dim=-1): like entmax.sparsemax (exact support).")
stablemax = _mapper(_stablemax, "stablemax(x, dim=-1): s(x)/sum s(x), s(x) = x+1 (x>=0), 1/(1-x) (x<0).")
log_stablemax = _mapper(_log_stablemax, "log_stablemax(x, dim=-1): log(stablemax(x)).")


def logsumexp(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    """logsumexp(x, dim=-1, keepdim=False): like torch.logsumexp over one dimension."""
    x2, shape, d, dtype = _as_rows(x, dim)
    out = _logsumexp(x2).reshape(shape[:-1])
    out = out.to(dtype) if out.dtype != dtype else out
    return out.unsqueeze(d) if keepdim else out


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, normalizer: str = "softmax",
                  z_loss: float = 0.0, softcap: Optional[float] = None) -> Tensor:
    """Mirrors torch.nn.functional.cross_entropy: input (N, C), (C,) or (N, C, d1, ...) with classes on dim 1;
    target class indices (int64 or int32; shape (N,), () or (N, d1, ...)) or class probabilities (input's
    shape). Adds normalizer ("softmax", "stablemax", "sparsemax"), z_loss (softmax: + z_loss * lse^2 per row)
    and softcap (logits -> softcap * tanh(logits / softcap) first). With class indices, an input that requires grad
    (eager mode) gets loss and gradient from one fused C call, whose gradient the backward hands over when the
    upstream gradient is 1 (loss.backward()); otherwise, and under torch.compile, the gradient comes from simdmax's
    C backward kernel. Either way the same bits. Differences from PyTorch: see the module docstring."""
    if reduction not in _RED:
        raise ValueError(f"reduction must be one of {_RED}, not {reduction!r}")
    if normalizer not in _NORM:
        raise ValueError(f"normalizer must be one of {_NORM}, not {normalizer!r}")
    dtype = input.dtype
    soft = target.is_floating_point()
    x = input.unsqueeze(0) if input.dim() == 1 else input
    x2 = _rows((x.movedim(1, -1) if x.dim() > 2 else x).reshape(-1, x.shape[1]), _kernel_dtype(dtype))
    w = weight.to(_F32).contiguous() if weight is not None else None
    red = _RED.index(reduction)
    args = (float(label_smoothing), _NORM.index(normalizer), float(z_loss), float(softcap or 0.0))
    if soft:
        q = target.unsqueeze(0) if target.dim() == 1 else target
        q2 = _rows((q.movedim(1, -1) if q.dim() > 2 else q).reshape(-1, x.shape[1]),
                   q.dtype if q.dtype in _SFX else _F32)
        loss = _xent_soft(x2, q2, w, red, *args)
    else:
        t = target.reshape(-1)
        if t.dtype not in (torch.int64, torch.int32):
            t = t.to(torch.int64)
        xargs = (x2, t.contiguous(), w, int(ignore_index), red, *args)
        # with a gradient to come, loss and gradient in one fused call (its backward reuses the gradient)
        # (eager only: its backward's test of the upstream gradient depends on data, which torch.compile cannot trace)
        fused = x2.requires_grad and torch.is_grad_enabled() and not torch.compiler.is_compiling()
        loss = _xent_grad(*xargs)[0] if fused else _xent(*xargs)
    if reduction == "none":
        loss = loss.reshape(() if input.dim() == 1 else (x.shape[0],) + tuple(x.shape[2:]))
    return loss.to(dtype) if loss.dtype != dtype else loss


class _Map(nn.Module):
    fn = None

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return type(self).fn(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_Map):
    fn = staticmethod(softmax)


class LogSoftmax(_Map):
    fn = staticmethod(log_softmax)


class Sparsemax(_Map):
    fn = staticmethod(sparsemax)


class Stablemax(_Map):
    fn = staticmethod(stablemax)


class LogStablemax(_Map):
    fn = staticmethod(log_stablemax)


class CrossEntropyLoss(nn.Module):
    """nn.CrossEntropyLoss over simdmax.torch.cross_entropy (weight is a buffer)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, normalizer="softmax",
                 z_loss=0.0, softcap=None):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing
        self.normalizer, self.z_loss, self.softcap = normalizer, z_loss, softcap

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing,
                             self.normalizer, self.z_loss, self.softcap)
