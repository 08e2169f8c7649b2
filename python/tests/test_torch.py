"""simdmax.torch against PyTorch float64 (and entmax for sparsemax) within the README's bounds: forward, autograd
against torch's own gradients, torch.library.opcheck and gradcheck, torch.compile of a small model (fullgraph:
no graph break), worker threads, nn.Modules, and each documented difference from PyTorch."""
import concurrent.futures
import os

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: the simdmax.torch tests are skipped (scripts/python-test.sh installs "
    "it from PyPI; SMX_PY_REQUIRE_TORCH=1 makes its absence an error)")
if not hasattr(torch.library, "custom_op"):
    pytest.skip(f"torch {torch.__version__} lacks torch.library.custom_op (needs >= 2.4)", allow_module_level=True)

import torch.nn.functional as F  # noqa: E402

import simdmax.torch as st  # noqa: E402

EPS32 = 2.0**-24
FLT_MIN = float(np.finfo(np.float32).tiny)


def ulp_err(y, ref, scale=None):
    """max |y - ref| in float32 ulp of max(|ref|, scale, FLT_MIN), with the flush rule."""
    y, ref = y.detach().double(), ref.detach().double()
    s = ref.abs() if scale is None else torch.maximum(ref.abs(), torch.as_tensor(scale, dtype=torch.float64))
    s = s.clamp_min(FLT_MIN)
    ulp = torch.from_numpy(np.asarray(np.spacing(s.numpy().astype(np.float32)), np.float64))
    exact = (torch.isinf(ref) & (y == ref)) | ((y == 0) & (ref.abs() < 1.001 * FLT_MIN))
    err = torch.where(exact, 0.0, (y - torch.where(torch.isinf(ref), 0.0, ref)).abs() / ulp)
    return err.max().item() if err.numel() else 0.0


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in (1, 3, 64, 65, 1000, 4097):
        out.append(torch.randn(4, n, generator=g))
        out.append(torch.rand(4, n, generator=g) * 160 - 80)
    return out


def log_softmax64(x):
    """float64 x - max - log(K + R), K the ties of the max, R the others: torch.log_softmax in float64 rounds
    x - max - lse near 0 to multiples of 2^-52, far more than a float32 ulp of a log-probability near 0"""
    m = x.amax(-1, keepdim=True)
    tie = x == m
    k = tie.sum(-1, keepdim=True).double()
    r = torch.where(tie, 0.0, (x - m).exp()).sum(-1, keepdim=True)
    return x - m - (k.log() + torch.log1p(r / k))


def log_stablemax64(x):
    s = torch.where(x >= 0, x + 1, 1 / (1 - x.clamp_max(0)))
    return -torch.log1p((s.sum(-1, keepdim=True) - s) / s)


def stablemax64(x):
    s = torch.where(x >= 0, x + 1, 1 / (1 - x.clamp_max(0)))
    return s / s.sum(-1, keepdim=True)


@pytest.mark.parametrize("x", data(), ids=lambda x: str(tuple(x.shape)))
def test_forward_against_float64(x):
    x64 = x.double()
    lp = log_softmax64(x64)
    assert ulp_err(st.softmax(x), torch.softmax(x64, -1)) <= 4
    assert ulp_err(st.log_softmax(x), lp) <= 4
    lse = torch.logsumexp(x64, -1)
    assert ulp_err(st.logsumexp(x), lse, torch.maximum(lse.abs(), x64.abs().amax(-1))) <= 4
    assert ulp_err(st.stablemax(x), stablemax64(x64)) <= 4
    assert ulp_err(st.log_stablemax(x), log_stablemax64(x64)) <= 4
    entmax = pytest.importorskip("entmax", reason="entmax is not installed (sparsemax comparison skipped)")
    p = st.sparsemax(x)
    ref = entmax.sparsemax(x64, dim=-1)
    assert ulp_err(p, ref, x64.abs().amax(-1, keepdim=True).clamp_min(1)) <= 4
    assert torch.equal(p > 0, ref > 1e-12)


def grad_check(fn, ref_fn, x, mag, bound=8.0):
    """autograd through simdmax vs torch's float64 gradients: error <= 8 ulp of the sum of the magnitudes of the
    gradient's terms (the README's backward bound), mag(x64, y64, dy64) giving them per element"""
    g = torch.Generator().manual_seed(1)
    dy = torch.randn(x.shape, generator=g)
    xa = x.clone().requires_grad_()
    fn(xa).backward(dy)
    xr = x.double().requires_grad_()
    y = ref_fn(xr)
    y.backward(dy.double())
    m, flush = mag(x.double(), y.detach(), dy.double())
    # the flush rule: a forward output below FLT_MIN is +0, an absolute error up to FLT_MIN in y, so up to
    # `flush` in the gradient; and a gradient entry below FLT_MIN is itself +0 (an error up to FLT_MIN); beyond
    # that the error must be within `bound` ulp of the terms' magnitude
    ulp = torch.from_numpy(np.asarray(np.spacing(m.clamp_min(FLT_MIN).numpy().astype(np.float32)), np.float64))
    err = ((xa.grad.double() - xr.grad).abs() - flush - FLT_MIN).clamp_min(0) / ulp
    return err.max().item() <= bound


def mag_softmax(x, y, dy):  # dx = y (dy - <y, dy>): (term magnitudes, flush allowance)
    t = dy.abs() + (y * dy).abs().sum(-1, keepdim=True)
    return y.abs() * t, FLT_MIN * 1.001 * t


def mag_log_softmax(x, y, dy):  # dx = dy - exp(y) sum dy
    return dy.abs() + y.exp() * dy.abs().sum(-1, keepdim=True), 0.0


def mag_stablemax(x, y, dy):  # dx = r y (dy - <y, dy>), r = 1 / (1 + |x|)
    m, f = mag_softmax(x, y, dy)
    return m / (1 + x.abs()), f


def mag_log_stablemax(x, y, dy):
    return mag_log_softmax(x, y, dy)[0] / (1 + x.abs()), 0.0


def mag_sparsemax(x, y, dy):  # dx = [y > 0] (dy - mean over the support)
    return dy.abs() + dy.abs().amax(-1, keepdim=True), 0.0


@pytest.mark.parametrize("x", data(2), ids=lambda x: str(tuple(x.shape)))
def test_autograd_against_torch(x):
    assert grad_check(st.softmax, lambda v: torch.softmax(v, -1), x, mag_softmax)
    assert grad_check(st.log_softmax, lambda v: torch.log_softmax(v, -1), x, mag_log_softmax)
    expand = lambda f: (lambda v: f(v).unsqueeze(-1).expand(v.shape))  # noqa: E731
    assert grad_check(expand(st.logsumexp), expand(lambda v: torch.logsumexp(v, -1)), x,
                      lambda x, y, dy: (torch.softmax(x, -1) * dy.abs().sum(-1, keepdim=True),  # the expand's
                                        FLT_MIN * 1.001 * dy.abs().sum(-1, keepdim=True)))  # float32 sum
    assert grad_check(st.stablemax, stablemax64, x, mag_stablemax)
    assert grad_check(st.log_stablemax, log_stablemax64, x, mag_log_stablemax)
    entmax = pytest.importorskip("entmax")
    assert grad_check(st.sparsemax, lambda v: entmax.sparsemax(v, dim=-1), x, mag_sparsemax)


def test_opcheck_and_gradcheck():
    x = torch.randn(3, 7)
    t = torch.tensor([0, 6, 2])
    w = torch.rand(7) + 0.5
    ops = torch.ops.simdmax
    for op in (ops.softmax, ops.log_softmax, ops.sparsemax, ops.stablemax, ops.log_stablemax, ops.logsumexp):
        torch.library.opcheck(op, (x.clone().requires_grad_(),))
    torch.library.opcheck(ops.cross_entropy, (x.clone().requires_grad_(), t, w, -100, 2, 0.1, 0, 1e-3, 0.0))
    for red in (0, 2):  # the fused forward (loss and gradient); its backward traced with fake tensors recomputes
        torch.library.opcheck(ops.cross_entropy_with_grad, (x.clone().requires_grad_(), t, w, -100, red, 0.1, 0, 1e-3, 0.0))
    q = torch.softmax(torch.randn(3, 7), -1)
    torch.library.opcheck(ops.cross_entropy_soft, (x.clone().requires_grad_(), q, None, 0, 0.0, 1, 0.0, 5.0))
    # finite differences in float32 (the kernels' precision): loose eps and tolerances
    kw = dict(eps=1e-2, atol=2e-3, rtol=2e-2, nondet_tol=0.0)
    xg = (torch.randn(3, 7) * 0.5).requires_grad_()
    for f in (st.softmax, st.log_softmax, st.stablemax, st.log_stablemax, st.logsumexp,
              lambda v: st.cross_entropy(v, t, w, label_smoothing=0.1, z_loss=1e-3, reduction="none"),
              lambda v: st.cross_entropy(v, q, normalizer="stablemax")):
        assert torch.autograd.gradcheck(f, (xg,), **kw)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_against_torch(reduction):
    g = torch.Generator().manual_seed(3)
    for n in (2, 100, 32000):
        x = torch.randn(6, n, generator=g) * 3
        t = torch.randint(0, n, (6,), generator=g)
        w = torch.rand(n, generator=g) + 0.1
        cases = [dict(), dict(weight=w), dict(label_smoothing=0.2), dict(weight=w, label_smoothing=0.1)]
        for kw in cases:
            for tt in (t, t.to(torch.int32)):
                xa = x.clone().requires_grad_()
                loss = st.cross_entropy(xa, tt, reduction=reduction, **kw)
                xr = x.double().requires_grad_()
                ref = F.cross_entropy(xr, t, reduction=reduction, **{k: (v.double() if torch.is_tensor(v) else v)
                                                                     for k, v in kw.items()})
                up = torch.randn(loss.shape, generator=g)
                loss.backward(up)
                ref.backward(up.double())
                if not kw:
                    assert ulp_err(loss, ref) <= 4
                    assert ulp_err(xa.grad, xr.grad, xr.grad.abs().amax(-1, keepdim=True) / 64) <= 4
                else:
                    assert ((loss.double() - ref).abs() / ref.abs()).max() <= 1e-5
                    assert (xa.grad.double() - xr.grad).abs().max() <= 1e-5 * xr.grad.abs().max()


def test_cross_entropy_shapes_and_probability_targets():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 10, 3, 5, generator=g)  # classes on dim 1, as PyTorch
    t = torch.randint(0, 10, (4, 3, 5), generator=g)
    t[0, 0, 0] = -100
    for red in ("none", "mean", "sum"):
        a = st.cross_entropy(x, t, reduction=red)
        b = F.cross_entropy(x.double(), t, reduction=red)
        assert a.shape == b.shape and torch.allclose(a.double(), b, rtol=1e-6, atol=0)
    q = torch.softmax(torch.randn(4, 10, 3, generator=g), 1)
    xs = torch.randn(4, 10, 3, generator=g)
    for red in ("none", "mean", "sum"):
        for kw in (dict(), dict(label_smoothing=0.1), dict(weight=torch.rand(10, generator=g))):
            xa = xs.clone().requires_grad_()
            xr = xs.double().requires_grad_()
            a = st.cross_entropy(xa, q, reduction=red, **kw)
            b = F.cross_entropy(xr, q.double(), reduction=red,
                                **{k: (v.double() if torch.is_tensor(v) else v) for k, v in kw.items()})
            assert a.shape == b.shape and torch.allclose(a.double(), b, rtol=1e-5, atol=0)
            a.sum().backward()
            b.sum().backward()
            assert torch.allclose(xa.grad.double(), xr.grad, rtol=0, atol=1e-5 * xr.grad.abs().max().item())
    v = torch.randn(10, generator=g)  # an unbatched (C,) input
    assert torch.allclose(st.cross_entropy(v, torch.tensor(3)).double(), F.cross_entropy(v.double(), torch.tensor(3)))


def test_torch_compile_small_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 50))
    x, t = torch.randn(8, 16), torch.randint(0, 50, (8,))

    def loss_fn(m):
        h = m(x)
        return st.cross_entropy(h, t, label_smoothing=0.1, z_loss=1e-4) + st.logsumexp(st.log_softmax(h)).mean() \
            + st.sparsemax(h).square().mean() + st.stablemax(h).square().mean()

    eager = loss_fn(model)
    eager.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    compiled = torch.compile(loss_fn, fullgraph=True)  # fullgraph: a graph break is an error
    got = compiled(model)
    got.backward()  # through the compiled graph's backward (AOTAutograd), i.e. our backward ops
    assert torch.allclose(got, eager, rtol=1e-6)
    for p, gr in zip(model.parameters(), grads):
        assert torch.allclose(p.grad, gr, rtol=1e-5, atol=1e-7)


def test_worker_threads_and_modules():
    g = torch.Generator().manual_seed(5)
    xs = [torch.randn(32, 2048, generator=g) for _ in range(8)]
    ts = [torch.randint(0, 2048, (32,), generator=g) for _ in range(8)]
    serial = [st.cross_entropy(x, t, reduction="none") for x, t in zip(xs, ts)]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        par = list(ex.map(lambda a: st.cross_entropy(*a, reduction="none"), zip(xs, ts)))
    assert all(torch.equal(a, b) for a, b in zip(serial, par))
    x = xs[0]
    assert torch.equal(st.Softmax(dim=-1)(x), st.softmax(x))
    assert torch.equal(st.LogSoftmax()(x), st.log_softmax(x))
    assert torch.equal(st.Sparsemax()(x), st.sparsemax(x))
    assert torch.equal(st.Stablemax()(x), st.stablemax(x))
    assert torch.equal(st.LogStablemax()(x), st.log_stablemax(x))
    w = torch.rand(2048, generator=g)
    assert torch.equal(st.CrossEntropyLoss(weight=w, label_smoothing=0.1)(x, ts[0]),
                       st.cross_entropy(x, ts[0], w, label_smoothing=0.1))
    xb = x.to(torch.bfloat16)
    assert st.softmax(xb).dtype == torch.bfloat16


# ---- the documented differences from PyTorch, pinned ----
def test_difference_all_ignored_mean_is_zero():
    x = torch.randn(3, 5, requires_grad=True)
    t = torch.full((3,), -100)
    loss = st.cross_entropy(x, t)
    assert loss.item() == 0.0 and torch.isnan(F.cross_entropy(x.detach(), t))
    loss.backward()
    assert torch.equal(x.grad, torch.zeros(3, 5))


def test_difference_ignored_rows_do_not_count_with_smoothing():
    x, t = torch.randn(4, 6), torch.tensor([1, -100, 2, 3])
    ours = st.cross_entropy(x, t, label_smoothing=0.2)
    kept = F.cross_entropy(x[t != -100].double(), t[t != -100], label_smoothing=0.2)
    assert torch.allclose(ours.double(), kept, rtol=1e-6)


def test_difference_infinite_logits_and_masked_rows():
    x = torch.tensor([[float("inf"), 0.0, float("inf"), 1.0], [-float("inf")] * 4])
    p = st.softmax(x)
    assert torch.equal(p[0], torch.tensor([0.5, 0.0, 0.5, 0.0])) and torch.equal(p[1], torch.zeros(4))
    assert torch.isnan(torch.softmax(x, -1)).all()
    assert torch.equal(st.log_softmax(x)[1], torch.full((4,), -float("inf")))
    assert st.logsumexp(x)[1].item() == -float("inf") and st.logsumexp(x)[0].item() == float("inf")
    xl = x.clone().requires_grad_()
    loss = st.cross_entropy(xl, torch.tensor([0, 1]), reduction="none")
    assert abs(loss[0].item() - np.log(2)) < 1e-7 and loss[1].item() == float("inf")
    loss.sum().backward()
    assert torch.equal(xl.grad[0], torch.tensor([0.5 - 1, 0.0, 0.5, 0.0]))  # p - q
    assert torch.equal(xl.grad[1], torch.tensor([0.0, -1.0, 0.0, 0.0]))  # p = 0: -q (PyTorch: nan)


def test_difference_flush_below_flt_min():
    x = torch.tensor([[0.0, -100.0]])
    ref = torch.softmax(x, -1)
    assert 0 < ref[0, 1].item() < FLT_MIN  # PyTorch returns a subnormal
    assert st.softmax(x)[0, 1].item() == 0.0


def test_difference_z_loss_with_class_weights():
    g = torch.Generator().manual_seed(6)
    x, t, w = torch.randn(5, 7, generator=g), torch.randint(0, 7, (5,), generator=g), torch.rand(7, generator=g) + 0.5
    zl = 1e-2
    ours = st.cross_entropy(x, t, w, z_loss=zl)
    x64, w64 = x.double(), w.double()
    lse = torch.logsumexp(x64, -1)
    # the cross-entropy terms averaged over the target weights, the z-loss (a per-token regularizer, unweighted)
    # over the counted rows, as PaLM-style implementations (flash-attn, Liger) do
    ce = F.cross_entropy(x64, t, w64, reduction="none")
    assert torch.allclose(ours.double(), ce.sum() / w64[t].sum() + (zl * lse**2).sum() / len(t), rtol=1e-6)


def test_large_outputs_advised_huge_pages():
    """The ops' large outputs (here softmax's and the cross-entropy gradient) are advised huge pages as the NumPy
    functions' are (test_numpy.py); the bits are those of a call on a preallocated buffer."""
    from test_numpy import _thp_mode, _vm_flags
    if _thp_mode() not in ("madvise", "always"):
        pytest.skip("no transparent huge pages on request here")
    x = torch.randn(4, 1 << 20)
    y = st.softmax(x)
    assert "hg" in _vm_flags(y.data_ptr() + (4 << 20))
    xx = x.clone().requires_grad_()
    st.cross_entropy(xx, torch.arange(4)).backward()
    assert "hg" in _vm_flags(xx.grad.data_ptr() + (4 << 20))
    ref = torch.empty_like(x)
    st._lib.call("softmax_f32", 4, 1 << 20, x.data_ptr(), 1 << 20, ref.data_ptr(), 1 << 20)
    assert torch.equal(y, ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_fused_forward_keeps_the_backward_bits(dtype):
    """An input that requires grad takes loss and gradient in one fused call (cross_entropy_with_grad); its
    backward hands that gradient over for an upstream gradient of 1 and recomputes otherwise: the loss and x.grad
    are bit-identical to the two-op path (loss-only forward, smx_cross_entropy_backward) for every reduction and
    upstream gradient, also with retain_graph (the second backward recomputes)."""
    x = (torch.randn(37, 300) * 3).to(dtype)
    t = torch.randint(0, 300, (37,))
    t[5] = -100
    w = torch.rand(300) + 0.5
    for red in ("mean", "sum", "none"):
        ups = [torch.tensor(1.0), torch.tensor(3.0)] if red != "none" else [torch.ones(37), torch.rand(37) + 0.5]
        for up in ups:
            a = x.clone().requires_grad_()
            la = st.cross_entropy(a, t, w, reduction=red, label_smoothing=0.1)
            fn, names = la.grad_fn, []  # the graph down to the op (a view for "none", a cast for 16-bit)
            while fn is not None:
                names.append(type(fn).__name__)
                fn = fn.next_functions[0][0] if fn.next_functions else None
            assert any("cross_entropy_with_grad" in n for n in names), names
            la.backward(up.to(la.dtype), retain_graph=True)
            b = x.clone().requires_grad_()
            lb = torch.ops.simdmax.cross_entropy(b, t, w, -100, ["none", "sum", "mean"].index(red), 0.1, 0, 0.0, 0.0)
            lb.backward(up.to(lb.dtype))
            assert torch.equal(la.detach(), lb.detach())
            assert torch.equal(a.grad.view(torch.int16 if dtype != torch.float32 else torch.int32),
                               b.grad.view(torch.int16 if dtype != torch.float32 else torch.int32))
            a.grad = None
            la.backward(up.to(la.dtype))  # the second backward: the kept gradient was handed over, so recomputed
            assert torch.equal(a.grad, b.grad)
    with torch.no_grad():  # no gradient to come: the loss-only call
        assert st.cross_entropy(x.clone().requires_grad_(), t).grad_fn is None
