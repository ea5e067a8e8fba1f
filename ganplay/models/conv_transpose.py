"""Transposed (and strided) convolutions that train fast on XLA:CPU.

``flax.linen.ConvTranspose`` is correct everywhere, but on XLA:CPU the gradient with respect to
its kernel lowers to a convolution with a stride-dilated operand that runs 20-50x slower than the
same arithmetic as one matrix product (0.78 s vs 0.02 s for the 7x7x256 -> 14x14x128 layer of the
seed-000 DCGAN at batch 64) and dominates the training step. XLA:CPU is also 15-50x slow at a
convolution whose kernel is larger than its (undilated) input: the forward pass of the 4x4 ->
8x8, 5x5-kernel first layer of the seed-001 generator (6 s at width 1), and the input gradient
of that model's 8x8 -> 4x4, 5x5-kernel discriminator layer (0.4 s).

:func:`conv_transpose` equals ``jax.lax.conv_transpose`` (flax's ``transpose_kernel=False``
convention) and :func:`conv` equals ``lax.conv_general_dilated``, each with a ``custom_vjp``:

* kernel gradient of the transposed conv: one GEMM of the input with the strided taps of the
  output gradient (:func:`_output_gradient_taps`); its input gradient too, from the same taps,
  when the kernel covers the input (:func:`_kernel_covers_input`);
* forward of the transposed conv with stride 1 and an output larger than its input: one GEMM
  and an in-place sum of its taps (:func:`_gemm_transpose_forward`, "col2im");
* forward of the other transposed convs, and input gradient of the strided conv (which *is* a
  transposed conv of the output gradient): the lax convolution, except when the kernel is larger
  than the input; then the same thing as one ordinary convolution per output phase, all phases
  in one call (:func:`_phase_transpose_forward`, "sub-pixel" convolution);
* both gradients of a strided conv whose kernel is small for its stride (3x3, stride 2): GEMMs
  with the input's patches ("im2col", :func:`_input_patches`, :func:`_patches_pay`);
* everything else: the usual lax convolutions.

Which path is faster was measured on 2 cores at batch 64 for the DCGANs' layers (figures beside
each rule); every path gives the lax op's values and gradients up to float rounding.

:class:`ConvTranspose` and :class:`Conv` are drop-ins for the flax modules (2-D NHWC,
``'SAME'``/``'VALID'``; same parameter names, shapes, initialisers and outputs). They take this
path on the CPU backend and plain lax + autodiff elsewhere, where cuDNN is already fast.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


def transpose_padding(kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(low, high) padding of the stride-dilated input: the rule of ``lax.conv_transpose``."""
    if padding == "SAME":
        total = kernel + stride - 2
        low = kernel - 1 if stride > kernel - 1 else -(-total // 2)
    elif padding == "VALID":
        total = kernel + stride - 2 + max(kernel - stride, 0)
        low = kernel - 1
    else:
        raise ValueError(f"padding={padding!r} is not supported; use 'SAME' or 'VALID'")
    return low, total - low


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{value!r}: only 2-D convolutions are supported")
    return pair


def _output_size(n_in: int, kernel: int, stride: int, pad: tuple[int, int]) -> int:
    return (n_in - 1) * stride + 1 + pad[0] + pad[1] - kernel + 1


def _kernel_exceeds_input(x_shape, kernel_shape) -> bool:
    # Where XLA:CPU loses its fast convolution path (measured: 4x4 inputs with 5x5 kernels run at
    # ~3 GFLOP/s instead of ~60; a 4x4 kernel on a 4x4 input, or a 5x5 one on 5x5, is fine).
    return any(k > n for k, n in zip(kernel_shape[:2], x_shape[1:3]))


# -- transposed convolution -------------------------------------------------------------------
def _lax_transpose_forward(x, kernel, strides, pads):
    # lax.conv_transpose(x, kernel, strides, padding) is exactly this call: a stride-1
    # correlation of the zero-dilated, padded input with the (unflipped) HWIO kernel.
    return lax.conv_general_dilated(
        x, kernel, (1, 1), pads, lhs_dilation=strides, dimension_numbers=_DIMENSION_NUMBERS
    )


def _phase_plan(k: int, s: int, low: int, n_in: int, n_out: int):
    """One axis of :func:`_phase_transpose_forward`.

    ``y[o] = sum_i xd[o + i] W[i]`` with ``xd[low + s*n] = x[n]``. Writing ``o = s*q + r``
    (phase ``r``) gives ``y[s*q + r] = sum_m x[q + m] W[s*m + low - r]``: for each phase, a
    stride-1 correlation of the *undilated* input with every s-th tap. Returns the tap index and
    validity of sub-kernel position ``l`` for phase ``r`` (``m = l + m_min``), the number of
    output rows per phase, and the (front, back, interior) padding of ``x`` that lines ``q + m``
    up with ``q + l``.
    """
    ms = [m for r in range(s) for m in range(-k - s, k + s) if 0 <= s * m + low - r < k]
    m_min, m_max = min(ms), max(ms)
    length = m_max - m_min + 1
    index = np.zeros((length, s), np.int32)
    valid = np.zeros((length, s), bool)
    for l in range(length):
        for r in range(s):
            i = s * (l + m_min) + low - r
            if 0 <= i < k:
                index[l, r], valid[l, r] = i, True
    rows = -(-n_out // s)
    front = -m_min
    return index, valid, rows, (front, rows + length - 1 - n_in - front, 0)


def _phase_transpose_forward(x, kernel, strides, pads):
    """The same as :func:`_lax_transpose_forward` as one ordinary convolution ("sub-pixel").

    Every output phase ``(r_h, r_w)`` is a stride-1 convolution of the undilated input with a
    ``ceil(k/s)``-sized sub-kernel; all phases run as one convolution with ``s_h*s_w*F`` outputs
    whose channels are then interleaved into space. The sub-kernel is smaller than the input
    where the transposed kernel was not, which keeps XLA:CPU on its fast path.
    """
    kh, kw, c, f = kernel.shape
    batch, ih, iw, _ = x.shape
    (sh, sw), (pad_h, pad_w) = strides, pads
    oh, ow = _output_size(ih, kh, sh, pad_h), _output_size(iw, kw, sw, pad_w)
    index_h, valid_h, rows_h, edge_h = _phase_plan(kh, sh, pad_h[0], ih, oh)
    index_w, valid_w, rows_w, edge_w = _phase_plan(kw, sw, pad_w[0], iw, ow)
    sub = kernel[index_h[:, None, :, None], index_w[None, :, None, :]]  # [Lh, Lw, sh, sw, C, F]
    valid = (valid_h[:, None, :, None] & valid_w[None, :, None, :])[..., None, None]
    sub = jnp.where(valid, sub, 0).transpose(0, 1, 4, 2, 3, 5)
    sub = sub.reshape(index_h.shape[0], index_w.shape[0], c, sh * sw * f)
    xp = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), edge_h, edge_w, (0, 0, 0)])
    z = lax.conv_general_dilated(xp, sub, (1, 1), "VALID", dimension_numbers=_DIMENSION_NUMBERS)
    y = z.reshape(batch, rows_h, rows_w, sh, sw, f).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(batch, rows_h * sh, rows_w * sw, f)[:, :oh, :ow]


def _gemm_transpose_forward(x, kernel, pads):
    """The stride-1 :func:`_lax_transpose_forward` as one GEMM and a scatter-add ("col2im").

    ``cols[b, n, i, f] = sum_c x[b, n, c] W[i, c, f]`` is every input pixel times every tap, and
    ``y[o]`` sums the ``cols`` with ``o = low + n - i``. Only real products are computed; the
    lax convolution of a 'VALID' stride-1 transposed conv also multiplies its ``k-1`` rows and
    columns of zero padding per side (3x the work for seed 000's 4x4 -> 7x7 first layer: 79 ms
    vs 31-38 ms at width 1). The sum is one in-place add per tap: XLA:CPU ran the same sum
    written as padded copies (the adjoint of :func:`_output_gradient_taps`) 10x slower in the
    training step.
    """
    kh, kw, c, f = kernel.shape
    batch, ih, iw, _ = x.shape
    (pad_h, pad_w) = pads
    oh, ow = _output_size(ih, kh, 1, pad_h), _output_size(iw, kw, 1, pad_w)
    cols = lax.dot_general(
        x.reshape(batch * ih * iw, c),
        kernel.transpose(2, 0, 1, 3).reshape(c, kh * kw * f),
        (((1,), (0,)), ((), ())),
    ).reshape(batch, ih, iw, kh, kw, f)
    y = jnp.zeros((batch, oh, ow, f), cols.dtype)
    for i in range(kh):
        n0, n1 = max(0, i - pad_h[0]), min(ih, oh + i - pad_h[0])  # the n with 0 <= o < oh
        for j in range(kw):
            m0, m1 = max(0, j - pad_w[0]), min(iw, ow + j - pad_w[0])
            if n1 <= n0 or m1 <= m0:
                continue
            start = (0, pad_h[0] + n0 - i, pad_w[0] + m0 - j, 0)
            tap = cols[:, n0:n1, m0:m1, i, j, :]
            y = lax.dynamic_update_slice(y, lax.dynamic_slice(y, start, tap.shape) + tap, start)
    return y


def _transpose_forward(x, kernel, strides, pads):
    (pad_h, pad_w) = pads
    kh, kw = kernel.shape[:2]
    _, ih, iw, _ = x.shape
    output_grows = _output_size(ih, kh, 1, pad_h) > ih or _output_size(iw, kw, 1, pad_w) > iw
    if strides == (1, 1) and output_grows:
        return _gemm_transpose_forward(x, kernel, pads)
    if _kernel_exceeds_input(x.shape, kernel.shape):
        return _phase_transpose_forward(x, kernel, strides, pads)
    return _lax_transpose_forward(x, kernel, strides, pads)


def _kernel_covers_input(x_shape, kernel_shape) -> bool:
    # The input gradient of such a transposed conv is a convolution whose output is no larger
    # than its kernel, which XLA:CPU runs at a third to half of its speed elsewhere (dcgan28's
    # 4x4 -> 7x7 layer at width 1: 61-72 ms vs 31-44 ms as a GEMM with the taps).
    return all(k >= n for k, n in zip(kernel_shape[:2], x_shape[1:3]))


def _output_gradient_taps(g, kernel_shape, x_shape, strides, pads) -> jax.Array:
    """``taps[b, n_h, n_w, i, j, f] = g[b, low_h + s_h*n_h - i, low_w + s_w*n_w - j, f]``.

    (Zero where that index falls outside ``g``.)

    Per spatial axis, ``y[o] = sum_i xd[o + i] W[i]`` with ``xd[low + s*n] = x[n]`` and zeros
    elsewhere, so ``dW[i] = sum_n x[n] g[low + s*n - i]``. Padding ``g`` in front by ``k-1-low``
    makes that ``gp[s*n + (k-1-i)]``: a strided slice of ``gp`` per kernel tap.
    """
    kh, kw, _, _ = kernel_shape
    _, ih, iw, _ = x_shape
    _, oh, ow, _ = g.shape
    (sh, sw), (pad_h, pad_w) = strides, pads

    def edge(k, s, low, n_in, n_out):
        front = k - 1 - low  # >= 0 for 'SAME' and 'VALID'
        return front, s * (n_in - 1) + k - n_out - front, 0  # the back may be negative: a crop

    gp = lax.pad(
        g,
        jnp.zeros((), g.dtype),
        [(0, 0, 0), edge(kh, sh, pad_h[0], ih, oh), edge(kw, sw, pad_w[0], iw, ow), (0, 0, 0)],
    )
    batch, features = gp.shape[0], gp.shape[3]

    def tap(i, j):
        th, tw = kh - 1 - i, kw - 1 - j
        return lax.slice(
            gp,
            (0, th, tw, 0),
            (batch, th + sh * (ih - 1) + 1, tw + sw * (iw - 1) + 1, features),
            (1, sh, sw, 1),
        )

    return jnp.stack([jnp.stack([tap(i, j) for j in range(kw)], axis=3) for i in range(kh)], axis=3)


def _linear_transpose(fn, like: jax.Array, cotangent: jax.Array) -> jax.Array:
    """JAX's own transpose of the linear ``fn`` (only traced, never evaluated) applied to
    ``cotangent``: the gradient autodiff would compute."""
    (out,) = jax.linear_transpose(fn, jax.ShapeDtypeStruct(like.shape, like.dtype))(cotangent)
    return out


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_transpose(x, kernel, strides, pads):
    return _transpose_forward(x, kernel, strides, pads)


def _conv_transpose_fwd(x, kernel, strides, pads):
    return _transpose_forward(x, kernel, strides, pads), (x, kernel)


def _conv_transpose_bwd(strides, pads, residuals, g):
    x, kernel = residuals
    # dW[i, j, c, f] = sum over (b, n_h, n_w) of x[..., c] * taps[..., i, j, f]: one GEMM
    # x^T [C, BHW] @ taps [BHW, kh*kw*F], written on 2-D views so that XLA keeps taps' layout
    # (an einsum made it copy taps transposed, which cost as much as the product).
    kh, kw, c, f = kernel.shape
    rows = x.shape[0] * x.shape[1] * x.shape[2]
    taps = _output_gradient_taps(g, kernel.shape, x.shape, strides, pads).reshape(rows, kh * kw * f)
    dkernel = lax.dot_general(x.reshape(rows, c), taps, (((0,), (0,)), ((), ())))
    if _kernel_covers_input(x.shape, kernel.shape):
        # dx[b, n, c] = sum over (i, j, f) of taps[b, n, i, j, f] W[i, j, c, f]: the same taps
        dx = lax.dot_general(
            taps, kernel.transpose(0, 1, 3, 2).reshape(kh * kw * f, c), (((1,), (0,)), ((), ()))
        ).reshape(x.shape)
    else:
        # an ordinary strided convolution of g: XLA does it well
        dx = _linear_transpose(lambda x_: _lax_transpose_forward(x_, kernel, strides, pads), x, g)
    return dx, dkernel.reshape(c, kh, kw, f).transpose(1, 2, 0, 3)


_conv_transpose.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)


def conv_transpose(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int] = 1,
    padding: str = "SAME",
) -> jax.Array:
    """``lax.conv_transpose(x, kernel, strides, padding)`` for NHWC ``x`` and HWIO ``kernel``.

    Same values and gradients as the lax op, computed the CPU-friendly way described in the
    module docstring. Reverse-mode only (``custom_vjp``): ``jax.jvp`` through it is not supported.
    """
    _check_shapes(x, kernel)
    strides = _pair(strides)
    pads = tuple(transpose_padding(k, s, padding) for k, s in zip(kernel.shape[:2], strides))
    return _conv_transpose(x, kernel, strides, pads)


# -- strided convolution ----------------------------------------------------------------------
def _lax_conv(x, kernel, strides, pads):
    return lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=_DIMENSION_NUMBERS)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv(x, kernel, strides, pads):
    return _lax_conv(x, kernel, strides, pads)


def _conv_fwd(x, kernel, strides, pads):
    return _lax_conv(x, kernel, strides, pads), (x, kernel)


def _input_patches(x, kernel_shape, strides, pads, out_hw) -> jax.Array:
    """``patches[b, o_h, o_w, i, j, c] = x[b, s_h*o_h + i - low_h, s_w*o_w + j - low_w, c]``.

    (Zero in the padding.) The strided convolution is ``patches @ W`` ("im2col")."""
    kh, kw = kernel_shape[:2]
    (sh, sw), (oh, ow) = strides, out_hw
    xp = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0)])
    batch, channels = x.shape[0], x.shape[3]

    def tap(i, j):
        return lax.slice(
            xp, (0, i, j, 0), (batch, i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1, channels),
            (1, sh, sw, 1),
        )

    return jnp.stack([jnp.stack([tap(i, j) for j in range(kw)], axis=3) for i in range(kh)], axis=3)


def _patches_pay(kernel_shape, strides) -> bool:
    # im2col copies each input element (kh*kw)/(s_h*s_w) times. Up to ~3 copies (seed 000's 3x3
    # stride-2 discriminator) the GEMMs beat XLA:CPU's gradient convolutions (width 1: kernel
    # gradient 26-35 -> 14-23 ms, input gradient 16-23 -> 14-20 ms); with 6.25 (seed 001's 5x5)
    # the copies cost more than they save.
    return kernel_shape[0] * kernel_shape[1] <= 3 * strides[0] * strides[1]


def _conv_bwd(strides, pads, residuals, g):
    x, kernel = residuals
    if _patches_pay(kernel.shape, strides):
        # dW = patches^T @ g and dx = col2im(g @ W^T), the adjoint of the patch extraction
        kh, kw, c, f = kernel.shape
        rows = g.shape[0] * g.shape[1] * g.shape[2]

        def patches(x_):
            return _input_patches(x_, kernel.shape, strides, pads, g.shape[1:3]).reshape(
                rows, kh * kw * c
            )

        g2 = g.reshape(rows, f)
        dkernel = lax.dot_general(patches(x), g2, (((0,), (0,)), ((), ())))
        cols = lax.dot_general(g2, kernel.reshape(kh * kw * c, f), (((1,), (1,)), ((), ())))
        return _linear_transpose(patches, x, cols), dkernel.reshape(kernel.shape)
    if _kernel_exceeds_input(g.shape, kernel.shape):
        # dx[n] = sum over (o, i) with s*o + i - low = n of g[o] W[i]^T: the transposed conv of g
        # with the flipped, in/out-swapped kernel and front padding k-1-low (back: to x's size),
        # done by phases because XLA's own lowering is the slow kernel-larger-than-input case.
        flipped = jnp.flip(kernel, (0, 1)).swapaxes(2, 3)
        transpose_pads = tuple(
            (k - 1 - low, n_x + k - 2 - (n_g - 1) * s - (k - 1 - low))
            for k, s, (low, _), n_x, n_g in zip(
                kernel.shape[:2], strides, pads, x.shape[1:3], g.shape[1:3]
            )
        )
        dx = _phase_transpose_forward(g, flipped, strides, transpose_pads)
    else:
        dx = _linear_transpose(lambda x_: _lax_conv(x_, kernel, strides, pads), x, g)
    dkernel = _linear_transpose(lambda k_: _lax_conv(x, k_, strides, pads), kernel, g)
    return dx, dkernel


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int] = 1,
    padding: str = "SAME",
) -> jax.Array:
    """``lax.conv_general_dilated(x, kernel, strides, padding)`` for NHWC ``x``, HWIO ``kernel``.

    Same values and gradients; only the input gradient differs in how it is computed (see the
    module docstring). Reverse-mode only (``custom_vjp``).
    """
    _check_shapes(x, kernel)
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"padding={padding!r} is not supported; use 'SAME' or 'VALID'")
    strides = _pair(strides)
    pads = tuple(lax.padtype_to_pads(x.shape[1:3], kernel.shape[:2], strides, padding))
    return _conv(x, kernel, strides, tuple(tuple(int(p) for p in pad) for pad in pads))


def _check_shapes(x, kernel) -> None:
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(
            f"expected an NHWC input and an HWIO kernel, got shapes {x.shape} and {kernel.shape}"
        )
    if x.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"input has {x.shape[-1]} channels but the kernel expects {kernel.shape[2]}"
        )


# -- flax modules -----------------------------------------------------------------------------
class _Convolution(nn.Module):
    """Shared body of :class:`Conv` and :class:`ConvTranspose` (flax's parameters and shapes).

    ``implementation``: ``"auto"`` (the custom-gradient path on the CPU backend, plain lax and
    autodiff elsewhere), ``"custom"`` or ``"lax"``.
    """

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] = 1
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    implementation: str = "auto"

    def _custom(self, x, kernel, strides):
        raise NotImplementedError

    def _lax(self, x, kernel, strides):
        raise NotImplementedError

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kernel_size, strides = _pair(self.kernel_size), _pair(self.strides)
        batch_shape = inputs.shape[:-3]
        x = inputs.reshape((-1, *inputs.shape[-3:]))  # one batch axis, as flax does
        kernel = self.param("kernel", self.kernel_init, (*kernel_size, x.shape[-1], self.features))
        dtype = jnp.result_type(x, kernel)
        x, kernel = x.astype(dtype), kernel.astype(dtype)

        implementation = self.implementation
        if implementation == "auto":
            implementation = "custom" if jax.default_backend() == "cpu" else "lax"
        if implementation == "custom":
            y = self._custom(x, kernel, strides)
        elif implementation == "lax":
            y = self._lax(x, kernel, strides)
        else:
            raise ValueError(
                f"implementation={self.implementation!r} is not allowed; choose auto, custom or lax"
            )
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,)).astype(dtype)
        return y.reshape((*batch_shape, *y.shape[1:]))


class ConvTranspose(_Convolution):
    """Drop-in for ``flax.linen.ConvTranspose`` (2-D, NHWC, ``transpose_kernel=False``)."""

    def _custom(self, x, kernel, strides):
        return conv_transpose(x, kernel, strides, self.padding)

    def _lax(self, x, kernel, strides):
        return lax.conv_transpose(
            x, kernel, strides, self.padding, dimension_numbers=_DIMENSION_NUMBERS
        )


class Conv(_Convolution):
    """Drop-in for ``flax.linen.Conv`` (2-D, NHWC, no dilation or feature groups)."""

    def _custom(self, x, kernel, strides):
        return conv(x, kernel, strides, self.padding)

    def _lax(self, x, kernel, strides):
        return lax.conv_general_dilated(
            x, kernel, strides, self.padding, dimension_numbers=_DIMENSION_NUMBERS
        )
