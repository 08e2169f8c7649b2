"""PyTorch operators over simdmax: torch.library custom ops (schema "simdmax::<name>", fake kernels for
torch.compile, autograd through simdmax's C backward kernels) and nn.Module wrappers.

CPU tensors only. float32 runs natively; float16, bfloat16 and float64 inputs are converted to float32 and the
result is converted back (one copy each way; a native bf16 path awaits the C library's). The GIL is released
while a kernel runs, so the ops can run concurrently from worker threads. Every op runs on one thread.

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
from typing import Optional

import torch
from torch import Tensor, nn

from . import _lib

__all__ = ["softmax", "log_softmax", "logsumexp", "sparsemax", "stablemax", "log_stablemax", "cross_entropy",
           "Softmax", "LogSoftmax", "Sparsemax", "Stablemax", "LogStablemax", "CrossEntropyLoss"]

_F32 = torch.float32


def _ptr(t):
    return t.data_ptr() if t is not None else None


def _check2d(x):
    if x.device.type != "cpu":
        raise RuntimeError("simdmax: CPU tensors only")
    if x.dtype != _F32 or x.dim() != 2 or not x.is_contiguous():
        raise RuntimeError("simdmax internal: ops take contiguous 2-D float32 tensors")


# ---- forward / backward ops on contiguous [rows, n] float32 ----
def _def_map(name):
    @torch.library.custom_op(f"simdmax::{name}", mutates_args=())
    def op(x: Tensor) -> Tensor:
        _check2d(x)
        y = torch.empty_like(x)
        if x.numel():
            _lib.call(f"{name}_f32", x.shape[0], x.shape[1], x.data_ptr(), x.shape[1], y.data_ptr(), x.shape[1])
        return y

    @op.register_fake
    def _(x):
        return torch.empty_like(x)

    return op


def _def_bwd(name):
    @torch.library.custom_op(f"simdmax::{name}", mutates_args=())
    def op(y: Tensor, dy: Tensor) -> Tensor:
        _check2d(y)
        dx = torch.empty_like(y)
        if y.numel():
            n = y.shape[1]
            _lib.call(f"{name}_f32", y.shape[0], n, y.data_ptr(), n, dy.data_ptr(), n, dx.data_ptr(), n)
        return dx

    @op.register_fake
    def _(y, dy):
        return torch.empty_like(y)

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
    _check2d(x)
    dx = torch.empty_like(x)
    if x.numel():
        n = x.shape[1]
        _lib.call("stablemax_backward_f32", x.shape[0], n, x.data_ptr(), n, y.data_ptr(), n, dy.data_ptr(), n,
                  dx.data_ptr(), n)
    return dx


@_stablemax_bwd.register_fake
def _(x, y, dy):
    return torch.empty_like(x)


@torch.library.custom_op("simdmax::logsumexp", mutates_args=())
def _logsumexp(x: Tensor) -> Tensor:
    _check2d(x)
    out = x.new_empty(x.shape[0])
    if x.numel():
        _lib.call("logsumexp_f32", x.shape[0], x.shape[1], x.data_ptr(), x.shape[1], out.data_ptr())
    return out


@_logsumexp.register_fake
def _(x):
    return x.new_empty(x.shape[0])


def _save_out(ctx, inputs, output):
    ctx.save_for_backward(output)


def _save_in_out(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], output)


_softmax.register_autograd(lambda ctx, g: _softmax_bwd(ctx.saved_tensors[0], g.contiguous()), setup_context=_save_out)
_log_softmax.register_autograd(lambda ctx, g: _log_softmax_bwd(ctx.saved_tensors[0], g.contiguous()),
                               setup_context=_save_out)
_sparsemax.register_autograd(lambda ctx, g: _sparsemax_bwd(ctx.saved_tensors[0], g.contiguous()),
                             setup_context=_save_out)
_stablemax.register_autograd(lambda ctx, g: _stablemax_bwd(*ctx.saved_tensors, g.contiguous()),
                             setup_context=_save_in_out)
# log-stablemax: d log p_i / dx_j = r_j (delta_ij - p_j), r = s'/s = 1 / (1 + |x|): the log-softmax backward
# (dy - exp(y) sum dy, with y = log p) divided by 1 + |x|.
_log_stablemax.register_autograd(
    lambda ctx, g: _log_softmax_bwd(ctx.saved_tensors[1], g.contiguous()) / (1.0 + ctx.saved_tensors[0].abs()),
    setup_context=_save_in_out)
# logsumexp: d lse / dx = softmax(x)
_logsumexp.register_autograd(lambda ctx, g: _softmax(ctx.saved_tensors[0]) * g.unsqueeze(1),
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
    _check2d(x)
    o = _opts(weight, ignore_index, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap, target)
    loss = x.new_empty(x.shape[0] if reduction == 0 else ())
    _lib.call("cross_entropy_forward_f32", x.shape[0], x.shape[1], x.data_ptr(), x.shape[1], target.data_ptr(), o,
              loss.data_ptr(), None)
    return loss


@_xent.register_fake
def _(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap):
    return x.new_empty(x.shape[0] if reduction == 0 else ())


@torch.library.custom_op("simdmax::cross_entropy_backward", mutates_args=())
def _xent_bwd(x: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int, reduction: int,
              label_smoothing: float, normalizer: int, z_loss: float, softcap: float, grad: Tensor) -> Tensor:
    _check2d(x)
    o = _opts(weight, ignore_index, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap, target)
    grad = grad.to(_F32).contiguous()
    dx = torch.empty_like(x)
    stride = 1 if reduction == 0 and grad.dim() == 1 and grad.numel() == x.shape[0] else 0
    _lib.call("cross_entropy_backward_f32", x.shape[0], x.shape[1], x.data_ptr(), x.shape[1], target.data_ptr(), o,
              None, grad.data_ptr(), stride, dx.data_ptr(), x.shape[1])
    return dx


@_xent_bwd.register_fake
def _(x, target, weight, ignore_index, reduction, label_smoothing, normalizer, z_loss, softcap, grad):
    return torch.empty_like(x)


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
    _check2d(x)
    o = _opts(weight, -100, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap)
    loss = x.new_empty(x.shape[0] if reduction == 0 else ())
    n = x.shape[1]
    _lib.call("cross_entropy_soft_f32", x.shape[0], n, x.data_ptr(), n, q.data_ptr(), n, o, loss.data_ptr(), None, n,
              1.0)
    return loss


@_xent_soft.register_fake
def _(x, q, weight, reduction, label_smoothing, normalizer, z_loss, softcap):
    return x.new_empty(x.shape[0] if reduction == 0 else ())


@torch.library.custom_op("simdmax::cross_entropy_soft_backward", mutates_args=())
def _xent_soft_bwd(x: Tensor, q: Tensor, weight: Optional[Tensor], reduction: int, label_smoothing: float,
                   normalizer: int, z_loss: float, softcap: float, grad: Tensor) -> Tensor:
    """The gradient of the loss (the C call recomputes the loss, discarded); for "none" each row is then
    scaled by its upstream gradient."""
    _check2d(x)
    o = _opts(weight, -100, _RED[reduction], label_smoothing, _NORM[normalizer], z_loss, softcap)
    dx = torch.empty_like(x)
    n = x.shape[1]
    scale = 1.0 if reduction == 0 else float(grad)
    _lib.call("cross_entropy_soft_f32", x.shape[0], n, x.data_ptr(), n, q.data_ptr(), n, o, None, dx.data_ptr(), n,
              scale)
    if reduction == 0:
        dx.mul_(grad.to(_F32).reshape(-1, 1))
    return dx


@_xent_soft_bwd.register_fake
def _(x, q, weight, reduction, label_smoothing, normalizer, z_loss, softcap, grad):
    return torch.empty_like(x)


def _xent_soft_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], inputs[1], inputs[2])
    ctx.args = inputs[3:]


def _xent_soft_backward(ctx, g):
    x, q, weight = ctx.saved_tensors
    return _xent_soft_bwd(x, q, weight, *ctx.args, g), None, None, None, None, None, None, None


_xent_soft.register_autograd(_xent_soft_backward, setup_context=_xent_soft_setup)


# ---- public functions ----
def _as_rows(x, dim):
    """x with dim moved last, as a contiguous float32 [rows, n] tensor, and how to undo it."""
    dtype = x.dtype
    dim = dim % x.dim() if x.dim() else 0
    xm = x.movedim(dim, -1) if dim != x.dim() - 1 else x
    shape = xm.shape
    x2 = xm.reshape(-1, shape[-1]) if xm.dim() else xm.reshape(1, 1)
    if x2.dtype != _F32:
        x2 = x2.to(_F32)
    return x2.contiguous(), shape, dim, dtype


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


softmax = _mapper(_softmax, "softmax(x, dim=-1): like torch.softmax (float32 kernels; see the module notes).")
log_softmax = _mapper(_log_softmax, "log_softmax(x, dim=-1): like torch.log_softmax.")
sparsemax = _mapper(_sparsemax, "sparsemax(x, dim=-1): like entmax.sparsemax (exact support).")
stablemax = _mapper(_stablemax, "stablemax(x, dim=-1): s(x)/sum s(x), s(x) = x+1 (x>=0), 1/(1-x) (x<0).")
log_stablemax = _mapper(_log_stablemax, "log_stablemax(x, dim=-1): log(stablemax(x)).")


def logsumexp(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    """logsumexp(x, dim=-1, keepdim=False): like torch.logsumexp over one dimension."""
    x2, shape, d, dtype = _as_rows(x, dim)
    out = _logsumexp(x2).reshape(shape[:-1]).to(dtype)
    return out.unsqueeze(d) if keepdim else out


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, normalizer: str = "softmax",
                  z_loss: float = 0.0, softcap: Optional[float] = None) -> Tensor:
    """Mirrors torch.nn.functional.cross_entropy: input (N, C), (C,) or (N, C, d1, ...) with classes on dim 1;
    target class indices (int64 or int32; shape (N,), () or (N, d1, ...)) or class probabilities (input's
    shape). Adds normalizer ("softmax", "stablemax", "sparsemax"), z_loss (softmax: + z_loss * lse^2 per row)
    and softcap (logits -> softcap * tanh(logits / softcap) first). The gradient comes from simdmax's C
    backward kernel. Differences from PyTorch: see the module docstring."""
    if reduction not in _RED:
        raise ValueError(f"reduction must be one of {_RED}, not {reduction!r}")
    if normalizer not in _NORM:
        raise ValueError(f"normalizer must be one of {_NORM}, not {normalizer!r}")
    dtype = input.dtype
    soft = target.is_floating_point()
    x = input.unsqueeze(0) if input.dim() == 1 else input
    x2 = (x.movedim(1, -1) if x.dim() > 2 else x).reshape(-1, x.shape[1])
    x2 = x2.to(_F32).contiguous() if x2.dtype != _F32 else x2.contiguous()
    w = weight.to(_F32).contiguous() if weight is not None else None
    red = _RED.index(reduction)
    args = (float(label_smoothing), _NORM.index(normalizer), float(z_loss), float(softcap or 0.0))
    if soft:
        q = target.unsqueeze(0) if target.dim() == 1 else target
        q2 = (q.movedim(1, -1) if q.dim() > 2 else q).reshape(-1, x.shape[1]).to(_F32).contiguous()
        loss = _xent_soft(x2, q2, w, red, *args)
    else:
        t = target.reshape(-1)
        if t.dtype not in (torch.int64, torch.int32):
            t = t.to(torch.int64)
        loss = _xent(x2, t.contiguous(), w, int(ignore_index), red, *args)
    if reduction == "none":
        loss = loss.reshape(() if input.dim() == 1 else (x.shape[0],) + tuple(x.shape[2:]))
    return loss.to(dtype) if dtype != _F32 else loss


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
