"""PyTorch eager peers: the same models, init, Adam and batch as ours, trained the idiomatic way.

One step is what ours does: sample a real batch and noise on the device (CUDA when JAX runs on a
GPU and torch has CUDA, else the CPU), D update
on the real and the fake batch (each through D on its own, as in ours), then G update through a
D whose weights need no gradient. Torch keeps its default thread count.

Differences that change neither shapes nor FLOPs: torch lays images out NCHW, its stride-2
convolutions pad one row and column on both sides (``padding=1``) where TF's 'SAME' pads only
after for 28 -> 14 and 14 -> 7, and ours also computes a few metrics per step (D's mean outputs
and accuracies).
"""
from __future__ import annotations

import math

from ganplay.bench.workloads import PEER_INSTALL_HINT, PeerUnavailable
from ganplay.models.dcgan import SEED_000, scaled

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:  # also when sys.modules["torch"] is None
    torch = None


def _require_torch() -> None:
    if torch is None:
        raise PeerUnavailable(f"peer torch not installed: {PEER_INSTALL_HINT}")


def num_threads() -> int | None:
    return None if torch is None else torch.get_num_threads()


def _device() -> "torch.device":
    """CUDA when JAX runs on a GPU and this torch has CUDA (the same kind of device on both
    sides), else the CPU."""
    import jax

    if jax.default_backend() == "gpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


# -- initialisers, as flax's --------------------------------------------------------------------
def _lecun_normal_(weight) -> None:
    """flax's Dense default: truncated normal with variance 1/fan_in (fan_in of a Linear)."""
    std = math.sqrt(1.0 / weight.shape[1]) / 0.87962566103423978  # the truncation's correction
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def _init(module: "nn.Module", weight_init) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            # xavier is symmetric in fan_in and fan_out, so torch's (out, in, ...) and
            # ConvTranspose's (in, out, ...) layouts give flax's HWIO bound
            weight_init(m.weight)
            nn.init.zeros_(m.bias)


# -- models ---------------------------------------------------------------------------------------
def _toy_mlp(d_in: int, hidden: int, d_out: int) -> "nn.Module":
    return nn.Sequential(
        nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, d_out),
    )


def _gia_generator(z_dim: int, hidden: int, shape) -> "nn.Module":
    return nn.Sequential(
        nn.Linear(z_dim, hidden), nn.LeakyReLU(0.01), nn.Linear(hidden, math.prod(shape)),
        nn.Tanh(),
    )


def _gia_discriminator(shape, hidden: int) -> "nn.Module":
    return nn.Sequential(
        nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.LeakyReLU(0.01), nn.Linear(hidden, 1)
    )


def _bn(channels: int) -> "nn.Module":
    # TF1 batch norm: momentum 0.99 on the running average is torch's momentum 0.01
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def _hidden(channels: int, slope: float, rate: float) -> list:
    return [_bn(channels), nn.LeakyReLU(slope), nn.Dropout(rate)]


def _dcgan28_generator(z_dim: int, width: float, channels: int) -> "nn.Module":
    """Seed 000's G: dense -> 4x4 -> convT k4 s1 VALID -> 7 -> k3 s2 -> 14 -> k3 s2 -> 28, tanh."""
    a = SEED_000
    c0, c1, c2 = (scaled(c, width) for c in a.g_channels)
    return nn.Sequential(
        nn.Linear(z_dim, 16 * c0), nn.Unflatten(1, (c0, 4, 4)), *_hidden(c0, a.g_slope, a.dropout),
        nn.ConvTranspose2d(c0, c1, 4, 1, 0), *_hidden(c1, a.g_slope, a.dropout),
        nn.ConvTranspose2d(c1, c2, 3, 2, padding=1, output_padding=1),
        *_hidden(c2, a.g_slope, a.dropout),
        nn.ConvTranspose2d(c2, channels, 3, 2, padding=1, output_padding=1), nn.Tanh(),
    )


def _dcgan28_discriminator(width: float, channels: int) -> "nn.Module":
    """Seed 000's D: 3 x (conv k3 s2, BN except the first, LeakyReLU, dropout) -> dense 1."""
    a = SEED_000
    c1, c2, c3 = (scaled(c, width) for c in a.d_channels)

    def block(c_in: int, c_out: int, batch_norm: bool) -> list:
        # padding=1 gives TF's 'SAME' output sizes (28 -> 14 -> 7 -> 4), padded on both sides
        norm = [_bn(c_out)] if batch_norm else []
        return [nn.Conv2d(c_in, c_out, 3, 2, padding=1), *norm, nn.LeakyReLU(a.d_slope),
                nn.Dropout(a.dropout)]

    return nn.Sequential(
        *block(channels, c1, False), *block(c1, c2, True), *block(c2, c3, True),
        nn.Flatten(), nn.Linear(16 * c3, 1),
    )


# -- the GAN step ---------------------------------------------------------------------------------
class TorchGan:
    """A full GAN step in PyTorch eager mode, per ``run`` call."""

    def __init__(self, config, dataset, generator, discriminator):
        c = config
        self.config = c
        self.device = device = _device()
        self.label = f"PyTorch {torch.__version__} eager" + (" CUDA" if device.type == "cuda" else "")
        self.G, self.D = generator.to(device), discriminator.to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))
        n = c.batch_size
        smooth = c.label_smoothing
        self.real_target = torch.full((n,), 1.0 - smooth, device=device)
        self.fake_target = torch.zeros(n, device=device)
        self.g_target = torch.full((n,), 1.0 - (smooth if c.smooth_g_target else 0.0), device=device)
        if dataset.kind == "points":  # the Gaussian mixture, sampled as ours does
            self.weights = torch.as_tensor(dataset.weights, dtype=torch.float32, device=device)
            self.means = torch.as_tensor(dataset.modes, dtype=torch.float32, device=device)
            self.stds = torch.as_tensor(dataset.stds, dtype=torch.float32, device=device)
        else:  # uint8 NHWC images, as ours keeps them; NCHW for torch's layers
            self.images = torch.from_numpy(dataset.images).permute(0, 3, 1, 2).contiguous().to(device)
        self.points = dataset.kind == "points"

    def parameter_count(self) -> int:
        return sum(p.numel() for m in (self.G, self.D) for p in m.parameters())

    def warmup(self) -> None:
        for _ in range(3):
            self.run()

    def _real(self):
        n = self.config.batch_size
        if self.points:
            comp = torch.multinomial(self.weights, n, replacement=True)
            return self.means[comp] + self.stds[comp] * torch.randn(n, 2, device=self.device)
        index = torch.randint(0, self.images.shape[0], (n,), device=self.device)
        return (self.images[index].float() - 127.5) / 127.5

    def _noise(self):
        n, z = self.config.batch_size, self.config.z_dim
        if self.config.noise == "uniform":
            return torch.rand(n, z, device=self.device) * 2.0 - 1.0
        return torch.randn(n, z, device=self.device)

    def _logits(self, x):
        return self.D(x).view(-1)

    def run(self) -> int:
        # D update: real and fake batches through D separately (own BN statistics), G frozen
        real = self._real()
        with torch.no_grad():
            fake = self.G(self._noise())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d = F.binary_cross_entropy_with_logits(self._logits(real), self.real_target)
        loss_d = loss_d + F.binary_cross_entropy_with_logits(self._logits(fake), self.fake_target)
        loss_d.backward()
        self.opt_d.step()
        # G update: gradients flow through D to G's output, but D's weights need none
        self.D.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g = F.binary_cross_entropy_with_logits(self._logits(self.G(self._noise())), self.g_target)
        loss_g.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        if self.device.type == "cuda":  # CUDA queues the work: the step is done when it has run
            torch.cuda.synchronize()
        return 1


def build(config, dataset) -> TorchGan:
    """The torch peer for ``config.model`` (toy-mlp, gia-mlp or dcgan28) on ``dataset``."""
    _require_torch()
    torch.manual_seed(config.seed)
    shape = tuple(dataset.shape)
    if config.model == "toy-mlp":
        g = _toy_mlp(config.z_dim, config.hidden, math.prod(shape))
        d = _toy_mlp(math.prod(shape), config.hidden, 1)
        weight_init = _lecun_normal_
    elif config.model == "gia-mlp":
        g = nn.Sequential(_gia_generator(config.z_dim, config.hidden, shape),
                          nn.Unflatten(1, (shape[2], shape[0], shape[1])))
        d = _gia_discriminator(shape, config.hidden)
        weight_init = nn.init.xavier_uniform_
    elif config.model == "dcgan28":
        g = _dcgan28_generator(config.z_dim, config.width, shape[-1])
        d = _dcgan28_discriminator(config.width, shape[-1])
        weight_init = nn.init.xavier_uniform_
    else:
        raise PeerUnavailable(f"no torch peer for model {config.model!r}")
    for module in (g, d):
        _init(module, weight_init)
    return TorchGan(config, dataset, g.train(), d.train())
