"""Where the tests find the project's shared data (``../shared/data`` beside the clone), and how
they do without it.

A new user's machine has no shared folder: every test that needs the real MNIST skips with one
line saying how to get it, and everything else runs on files the tests write themselves.
``GANPLAY_TESTS_HIDE_SHARED=1`` hides the folder even where it exists, so CI proves the suite
passes on such a machine (``.ci/run`` reruns the data and CLI tests that way).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

HIDE_ENV = "GANPLAY_TESTS_HIDE_SHARED"
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def hidden() -> bool:
    return os.environ.get(HIDE_ENV, "") not in ("", "0")


def mnist_available() -> bool:
    return not hidden() and all((MNIST_DIR / name).exists() for name in MNIST_FILES)


def why_no_mnist() -> str:
    if hidden():
        return f"real MNIST hidden by {HIDE_ENV}=1 (a fresh machine's view)"
    return (f"real MNIST not found at {MNIST_DIR}: put {' and '.join(MNIST_FILES)} there "
            "(or let the app download MNIST: ganplay train --dataset mnist --download)")


def require_mnist() -> Path:
    """The offline MNIST folder, or a skip that says how to get it."""
    if not mnist_available():
        pytest.skip(why_no_mnist())
    return MNIST_DIR
