"""Image GANs on the real offline MNIST: they train, and gia-mlp learns the digits' statistics."""
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine import Trainer, fetch_metrics


@pytest.mark.slow
def test_gia_mlp_learns_mnist_pixel_statistics(mnist_dir):
    t = Trainer(Config.for_model("gia-mlp", dataset="mnist", data_dir=str(mnist_dir)))
    real = t.dataset.images.astype(np.float32) / 127.5 - 1.0
    z = t.fixed_noise(1000)

    def mean_image_rmse(state):
        x = np.asarray(t.generate(state, z))
        assert x.shape == (1000, 28, 28, 1) and x.min() >= -1 and x.max() <= 1
        return float(np.sqrt(np.mean((x.mean(0) - real.mean(0)) ** 2)))

    state = t.init()
    untrained = mean_image_rmse(state)
    state, metrics = t.run(state, 2000)
    trained = mean_image_rmse(state)
    m = fetch_metrics(metrics)
    assert np.isfinite(m["g_loss"]).all() and {"d_acc_real", "d_acc_fake"} <= set(m)
    # An untrained G draws mid-grey everywhere; a trained one a dark background with bright strokes.
    assert untrained > 0.6, untrained
    assert trained < 0.3, trained
