"""A transposed convolution that trains fast on XLA:CPU.

``flax.linen.ConvTranspose`` is correct everywhere, but on XLA:CPU the gradient with respect to
its kernel lowers to a convolution with a stride-dilated operand that runs ~20-50x slower than
the same arithmetic as a matrix product (0.78 s vs 0.017 s for the 7x7x256 -> 14x14x128 layer of
the seed-000 DCGAN at batch 64), and it dominates the training step. XLA:CPU is also very slow
(~50x) at the *forward* pass when the kernel is larger than the input (the 4x4 -> 8x8, 5x5-kernel
first layer of the seed-001 DCGAN: 6 s).

:func:`conv_transpose` computes exactly ``jax.lax.conv_transpose`` (flax's
``transpose_kernel=False`` convention) with a ``custom_vjp``:

* kernel gradient: one GEMM between the input and the strided taps of the output gradient;
* input gradient: the usual lax convolution (autodiff's transpose of the forward);
* forward: the usual lax convolution, except when the kernel is at least as large as the input,
  where it is a GEMM followed by a scatter-add of the taps ("col2im", as PyTorch does on CPU).

:class:`ConvTranspose` is a drop-in for ``flax.linen.ConvTranspose`` (2-D NHWC, ``'SAME'`` or
``'VALID'``; same parameter names, shapes, initialisers and outputs). It uses this path on the
CPU backend and plain ``lax.conv_transpose`` (autodiff) elsewhere, where cuDNN is already fast.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")

Pads = tuple[tuple[int, int], tuple[int, int]]


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


def _output_size(n_in: int, kernel: int, stride: int, pad: tuple[int, int]) -> int:
    return (n_in - 1) * stride + 1 + pad[0] + pad[1] - kernel + 1


def _lax_forward(x, kernel, strides, pads):
    # lax.conv_transpose(x, kernel, strides, padding) is exactly this call: a stride-1
    # correlation of the zero-dilated, padded input with the (unflipped) HWIO kernel.
    return lax.conv_general_dilated(
        x, kernel, (1, 1), pads, lhs_dilation=strides, dimension_numbers=_DIMENSION_NUMBERS
    )


def _gemm_forward(x, kernel, strides, pads):
    """Forward as GEMM + scatter-add: input position n, tap i lands on output ``low + s*n - i``."""
    kh, kw, _, _ = kernel.shape
    _, ih, iw, _ = x.shape
    (sh, sw), (pad_h, pad_w) = strides, pads
    oh, ow = _output_size(ih, kh, sh, pad_h), _output_size(iw, kw, sw, pad_w)
    per_tap = jnp.einsum("bhwc,ijcf->bhwijf", x, kernel)
    zero = jnp.zeros((), x.dtype)
    y = None
    for i in range(kh):
        for j in range(kw):
            # interior padding spreads the taps s apart; a negative edge padding crops
            front_h, front_w = pad_h[0] - i, pad_w[0] - j
            spread = lax.pad(
                per_tap[:, :, :, i, j, :],
                zero,
                [
                    (0, 0, 0),
                    (front_h, oh - front_h - (ih - 1) * sh - 1, sh - 1),
                    (front_w, ow - front_w - (iw - 1) * sw - 1, sw - 1),
                    (0, 0, 0),
                ],
            )
            y = spread if y is None else y + spread
    return y


def _use_gemm_forward(x_shape, kernel_shape) -> bool:
    # XLA:CPU's fast convolution path is lost when the kernel is larger than the input; at equal
    # sizes (the 4x4-kernel layer on a 4x4 input) the GEMM is still ~1.5x faster (mostly padding).
    return max(kernel_shape[:2]) >= min(x_shape[1:3])


def _forward(x, kernel, strides, pads):
    if _use_gemm_forward(x.shape, kernel.shape):
        return _gemm_forward(x, kernel, strides, pads)
    return _lax_forward(x, kernel, strides, pads)


def _output_gradient_taps(g, kernel_shape, x_shape, strides, pads) -> jax.Array:
    """``taps[b, n_h, n_w, i, j, f] = g[b, low_h + s_h*n_h - i, low_w + s_w*n_w - j, f]`` (0 outside).

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


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_transpose(x, kernel, strides, pads):
    return _forward(x, kernel, strides, pads)


def _conv_transpose_fwd(x, kernel, strides, pads):
    return _forward(x, kernel, strides, pads), (x, kernel)


def _conv_transpose_bwd(strides, pads, residuals, g):
    x, kernel = residuals
    # Input gradient: JAX's transpose of the lax forward, an ordinary strided convolution
    # (linear_transpose only traces the forward, it never evaluates it).
    (dx,) = jax.linear_transpose(
        lambda x_: _lax_forward(x_, kernel, strides, pads), jax.ShapeDtypeStruct(x.shape, x.dtype)
    )(g)
    taps = _output_gradient_taps(g, kernel.shape, x.shape, strides, pads)
    dkernel = jnp.einsum("bhwc,bhwijf->ijcf", x, taps)
    return dx, dkernel


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
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(
            f"expected an NHWC input and an HWIO kernel, got shapes {x.shape} and {kernel.shape}"
        )
    if x.shape[-1] != kernel.shape[2]:
        raise ValueError(f"input has {x.shape[-1]} channels but the kernel expects {kernel.shape[2]}")
    strides = (strides, strides) if isinstance(strides, int) else tuple(int(s) for s in strides)
    pads = tuple(transpose_padding(k, s, padding) for k, s in zip(kernel.shape[:2], strides))
    return _conv_transpose(x, kernel, strides, pads)


class ConvTranspose(nn.Module):
    """Drop-in for ``flax.linen.ConvTranspose`` (2-D, NHWC, ``transpose_kernel=False``).

    ``implementation``: ``"auto"`` (the custom-gradient path on the CPU backend, plain
    ``lax.conv_transpose`` elsewhere), ``"custom"`` or ``"lax"``.
    """

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] = 1
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    implementation: str = "auto"

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        kernel_size = (
            (self.kernel_size,) * 2 if isinstance(self.kernel_size, int) else tuple(self.kernel_size)
        )
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size={self.kernel_size!r}: only 2-D kernels are supported")
        strides = (self.strides,) * 2 if isinstance(self.strides, int) else tuple(self.strides)
        batch_shape = inputs.shape[:-3]
        x = inputs.reshape((-1, *inputs.shape[-3:]))  # one batch axis, as flax does
        kernel = self.param("kernel", self.kernel_init, (*kernel_size, x.shape[-1], self.features))
        dtype = jnp.result_type(x, kernel)
        x, kernel = x.astype(dtype), kernel.astype(dtype)

        implementation = self.implementation
        if implementation == "auto":
            implementation = "custom" if jax.default_backend() == "cpu" else "lax"
        if implementation == "custom":
            y = conv_transpose(x, kernel, strides, self.padding)
        elif implementation == "lax":
            y = lax.conv_transpose(
                x, kernel, strides, self.padding, dimension_numbers=_DIMENSION_NUMBERS
            )
        else:
            raise ValueError(
                f"implementation={self.implementation!r}; choose 'auto', 'custom' or 'lax'"
            )
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,)).astype(dtype)
        return y.reshape((*batch_shape, *y.shape[1:]))
