"""simdmax.torch on bfloat16 and float16 tensors: every op, forward and backward, bit for bit the C library's
16-bit result, round16(f32 kernel(widen(x))) with simdmax's own converters; the cross-entropy's gradient also
against the fused C call (through the NumPy function); zero-copy rows, torch.compile, opcheck, thread counts."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the simdmax.torch tests are skipped")
if not hasattr(torch.library, "custom_op"):
    pytest.skip(f"torch {torch.__version__} lacks torch.library.custom_op (needs >= 2.4)", allow_module_level=True)

import simdmax  # noqa: E402
import simdmax.torch as st  # noqa: E402
from half16 import inputs16, round16, widen  # noqa: E402

ops = torch.ops.simdmax
DTYPES = [(torch.bfloat16, "bf16"), (torch.float16, "f16")]
IDS = lambda v: str(v).replace("torch.", "")  # noqa: E731
MAPS = ["softmax", "log_softmax", "sparsemax", "stablemax", "log_stablemax"]
SHAPES = [(8, 1), (8, 3), (8, 64), (8, 65), (8, 1000), (8, 4097), (3, 20000)]


def tbits(t):
    """the uint16 bit patterns of a 16-bit tensor, as NumPy"""
    return t.detach().contiguous().view(torch.int16).numpy().view(np.uint16)


def t16(b, dtype):
    """uint16 bit patterns -> a tensor of dtype"""
    return torch.from_numpy(np.ascontiguousarray(b).view(np.int16)).view(dtype)


def wide(t, sfx):
    """a 16-bit tensor widened to float32 by the C converter"""
    return torch.from_numpy(widen(tbits(t), sfx))


def r16(t32, sfx):
    """float32 tensor -> uint16 bits rounded by the C converter"""
    return round16(t32.detach().contiguous().numpy(), sfx)


@pytest.mark.parametrize("dtype,sfx", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_bit_exact(dtype, sfx, shape):
    x = t16(inputs16(sfx, *shape), dtype)
    xw = wide(x, sfx)
    for k in MAPS:
        y = getattr(st, k)(x)
        assert y.dtype == dtype and y.shape == x.shape
        assert np.array_equal(tbits(y), r16(getattr(st, k)(xw), sfx)), k
    lse = st.logsumexp(x)  # computed in float32 by the C library, returned in x's dtype (as torch.logsumexp)
    assert lse.dtype == dtype and np.array_equal(tbits(lse), r16(st.logsumexp(xw), sfx))
    # the same bits as the NumPy function (float16: the C call on the same storage)
    if dtype == torch.float16:
        assert np.array_equal(tbits(st.softmax(x)), simdmax.softmax(x.numpy()).view(np.uint16))


@pytest.mark.parametrize("dtype,sfx", DTYPES, ids=IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_backward_bit_exact(dtype, sfx, shape):
    """each backward: the C 16-bit backward kernel on the saved 16-bit tensors = round16(f32 backward(widened))"""
    x = t16(inputs16(sfx, *shape), dtype)
    g = torch.Generator().manual_seed(1)
    dy = (torch.randn(x.shape, generator=g) * 2).to(dtype)
    xw, dyw = wide(x, sfx), wide(dy, sfx)
    for k in MAPS:
        xa = x.clone().requires_grad_()
        y = getattr(st, k)(xa)
        y.backward(dy)
        yw = wide(y, sfx)
        if k == "stablemax":
            ref = ops.stablemax_backward(xw, yw, dyw)
        elif k == "log_stablemax":
            ref = ops.log_stablemax_backward(xw, yw, dyw)
        else:
            ref = getattr(ops, k + "_backward")(yw, dyw)
        assert xa.grad.dtype == dtype and np.array_equal(tbits(xa.grad), r16(ref, sfx)), k
    xa = x.clone().requires_grad_()
    gl = torch.randn(x.shape[0], generator=g).to(dtype)
    st.logsumexp(xa).backward(gl)
    ref = ops.logsumexp_backward(xw, wide(gl, sfx))
    assert np.array_equal(tbits(xa.grad), r16(ref, sfx))


def xent_cases(n, g):
    w = torch.rand(n, generator=g) + 0.1
    return [dict(), dict(weight=w, label_smoothing=0.1), dict(z_loss=1e-3, softcap=30.0),
            dict(normalizer="stablemax", label_smoothing=0.2), dict(normalizer="sparsemax", weight=w)]


def xent_bwd_ref(xw, t, kw, reduction, up):
    """round16's argument: smx_cross_entropy_backward_f32 on the widened logits with the (widened) upstream grad"""
    w = kw.get("weight")
    return ops.cross_entropy_backward(xw, t, w, -100, ["none", "sum", "mean"].index(reduction),
                                      float(kw.get("label_smoothing", 0.0)),
                                      ["softmax", "stablemax", "sparsemax"].index(kw.get("normalizer", "softmax")),
                                      float(kw.get("z_loss", 0.0)), float(kw.get("softcap", 0.0)), up.float())


@pytest.mark.parametrize("dtype,sfx", DTYPES, ids=IDS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_bit_exact(dtype, sfx, reduction):
    g = torch.Generator().manual_seed(3)
    # with the special rows (NaN, +-inf, all -inf, ...: a NaN SUM / MEAN) and without; 70 x 32000: the per-row
    # path's chunks
    for rows, n, sp in ((9, 1, True), (9, 100, True), (9, 4097, True), (70, 32000, True), (9, 1000, False)):
        x = t16(inputs16(sfx, rows, n, seed=n, specials=sp), dtype)
        xw = wide(x, sfx)
        t = torch.randint(0, n, (rows,), generator=g)
        t[2] = -100
        for kw in xent_cases(n, g):
            for tt in (t, t.to(torch.int32)):
                xa = x.clone().requires_grad_()
                loss = st.cross_entropy(xa, tt, reduction=reduction, **kw)
                ref = st.cross_entropy(xw, tt, reduction=reduction, **kw)
                assert loss.dtype == dtype and np.array_equal(tbits(loss), r16(ref, sfx)), kw
                # per-row upstream gradients for "none" (smx_cross_entropy_backward_<sfx>), else a scalar
                up = (torch.rand(loss.shape, generator=g) + 0.5).to(dtype)
                loss.backward(up)
                exp = r16(xent_bwd_ref(xw, tt, kw, reduction, up), sfx)
                assert xa.grad.dtype == dtype and np.array_equal(tbits(xa.grad), exp), kw
            if reduction == "none":  # one upstream value for every row
                xa = x.clone().requires_grad_()
                st.cross_entropy(xa, t, reduction="none", **kw).sum().backward()
                exp = r16(xent_bwd_ref(xw, t, kw, "none", torch.ones(rows)), sfx)
                assert np.array_equal(tbits(xa.grad), exp), kw
            if dtype == torch.float16 and reduction != "none":  # against the fused C call itself
                xa = x.clone().requires_grad_()
                st.cross_entropy(xa, t, reduction=reduction, **kw).backward()
                npkw = {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in kw.items()}
                _, d = simdmax.cross_entropy(x.numpy(), t.numpy(), reduction=reduction, grad=True, **npkw)
                assert np.array_equal(tbits(xa.grad), d.view(np.uint16)), kw


@pytest.mark.parametrize("dtype,sfx", DTYPES, ids=IDS)
def test_cross_entropy_probability_targets(dtype, sfx):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 50, 3, generator=g).to(dtype)  # classes on dim 1
    q = torch.softmax(torch.randn(4, 50, 3, generator=g), 1)
    for qq in (q, q.to(dtype)):  # float32 targets: widened logits; the logits' type: smx_cross_entropy_soft_bf16 / _f16
        for red in ("none", "mean", "sum"):
            xa = x.clone().requires_grad_()
            loss = st.cross_entropy(xa, qq, reduction=red, label_smoothing=0.1)
            xr = x.float().requires_grad_()
            ref = st.cross_entropy(xr, qq.float(), reduction=red, label_smoothing=0.1)
            assert torch.equal(loss, ref.to(dtype))
            up = torch.rand(loss.shape, generator=g).to(dtype)
            loss.backward(up)
            ref.backward(up.float())
            assert np.array_equal(tbits(xa.grad), r16(xr.grad, sfx))


@pytest.mark.parametrize("dtype,sfx", DTYPES, ids=IDS)
def test_zero_copy_rows(dtype, sfx):
    x = t16(inputs16(sfx, 6, 80, seed=5), dtype)
    x2, *_ = st._as_rows(x, -1)
    assert x2.data_ptr() == x.data_ptr() and x2.dtype == dtype
    view = x[:, 10:47]
    v2, *_ = st._as_rows(view, -1)
    assert v2.data_ptr() == view.data_ptr() and st._ld(v2) == 80
    assert np.array_equal(tbits(st.softmax(view)), tbits(st.softmax(view.contiguous())))
    xa = view.detach().clone()
    assert np.array_equal(tbits(st.cross_entropy(view, torch.arange(6), reduction="none")),
                          tbits(st.cross_entropy(xa, torch.arange(6), reduction="none")))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=IDS)
def test_opcheck_and_compile(dtype):
    g = torch.Generator().manual_seed(6)
    x = torch.randn(3, 7, generator=g).to(dtype)
    t = torch.tensor([0, 6, 2])
    for op in (ops.softmax, ops.log_softmax, ops.sparsemax, ops.stablemax, ops.log_stablemax, ops.logsumexp):
        torch.library.opcheck(op, (x.clone().requires_grad_(),))
    torch.library.opcheck(ops.cross_entropy, (x.clone().requires_grad_(), t, None, -100, 0, 0.1, 0, 1e-3, 0.0))
    torch.library.opcheck(ops.cross_entropy_with_grad, (x.clone().requires_grad_(), t, None, -100, 0, 0.1, 0, 1e-3, 0.0))
    xs = torch.randn(16, 100, generator=g).to(dtype)
    ts = torch.randint(0, 100, (16,), generator=g)
    dy = torch.randn(16, 100, generator=g).to(dtype)

    fns = [(lambda v: st.cross_entropy(v, ts, label_smoothing=0.1, reduction="none"), None),
           (lambda v: st.log_softmax(v), dy), (lambda v: st.stablemax(v), dy), (lambda v: st.logsumexp(v), None)]
    for f, up in fns:  # one op each: the compiled backward is then only our backward op (no inductor sum)
        xe = xs.clone().requires_grad_()
        a = f(xe)
        a.backward(torch.ones_like(a) if up is None else up)
        xc = xs.clone().requires_grad_()
        a2 = torch.compile(f, fullgraph=True)(xc)  # fullgraph: a graph break is an error
        a2.backward(torch.ones_like(a2) if up is None else up)
        assert torch.equal(a, a2) and torch.equal(xe.grad, xc.grad)


def test_thread_counts_give_the_same_bits():
    g = torch.Generator().manual_seed(7)
    x = (torch.randn(512, 1000, generator=g) * 3).to(torch.bfloat16)
    t = torch.randint(0, 1000, (512,), generator=g)
    before = torch.get_num_threads()
    out = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            xa = x.clone().requires_grad_()
            loss = st.cross_entropy(xa, t)
            loss.backward()
            out.append((tbits(loss), tbits(xa.grad), tbits(st.softmax(x)), simdmax.get_num_threads()))
    finally:
        torch.set_num_threads(before)
    for (l1, g1, s1, _), (l2, g2, s2, _) in zip(out, out[1:]):
        assert np.array_equal(l1, l2) and np.array_equal(g1, g2) and np.array_equal(s1, s2)
    assert [o[3] for o in out] == [1, 2, 3]  # the ops follow torch.get_num_threads()
