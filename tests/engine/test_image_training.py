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


def test_dcgan_steps_dispatch_one_by_one_and_stay_deterministic(mnist_dir):
    """Conv models skip lax.scan (slow on XLA:CPU); chunking must still not change the run."""
    from test_training import params_vector

    t = Trainer(Config.for_model("dcgan28", dataset="mnist", data_dir=str(mnist_dir), width=0.125,
                                 batch_size=8))
    assert not t.scan_steps
    a, m = t.run(t.init(), 3)
    assert fetch_metrics(m)["d_loss"].shape == (3,) and int(a.step) == 3
    b = t.init()
    for _ in range(3):
        b, _ = t.run(b, 1)
    np.testing.assert_array_equal(params_vector(a), params_vector(b))
    x = np.asarray(t.generate(a, t.fixed_noise(4)))
    assert x.shape == (4, 28, 28, 1) and np.isfinite(x).all()
