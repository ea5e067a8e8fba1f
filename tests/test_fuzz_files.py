"""A fast, deterministic slice of benchmarks/fuzz_files.py: mutated files of every format the app
opens either open or are refused with one line naming the file; never a traceback, a hang, a
memory spike or a write into the input's folder. (The full run, 10,000+ inputs per format, is in
docs/reliability.md.)"""
from __future__ import annotations

import pytest

from tests.bench_modules import load_benchmark

# Inputs per format: 240 in all; about 11 s of CPU, the toy model's compile included.
PER_FORMAT = {"run": 30, "compare-zip": 15, "compare-folder": 15}
OTHERS = 20


def _fuzz_module():
    return load_benchmark("fuzz_files", "fuzz_files")


@pytest.fixture(scope="module")
def fuzz_files():
    return _fuzz_module()


@pytest.fixture
def memoized_trainers(fuzz_files, monkeypatch):
    """The harness compiles each config's trainer once; undone after the test."""
    from ganplay.engine import compare, session, train

    for module in (train, session, compare):
        monkeypatch.setattr(module, "build_trainer", module.build_trainer)
    return fuzz_files.in_process_opener()


def test_a_slice_of_every_format_opens_or_is_refused_in_one_line(fuzz_files, memoized_trainers, tmp_path,
                                                                 monkeypatch):
    # Bombs of 64 MB instead of 1 GB: refused the same way, built in a fifteenth of the time.
    monkeypatch.setattr(fuzz_files, "BOMB_BYTES", 64 << 20)
    counts = {fmt: PER_FORMAT.get(fmt, OTHERS) for fmt in fuzz_files.FORMATS}
    results = fuzz_files.fuzz(list(counts), counts, seed=0, root=tmp_path, log=lambda _: None,
                              opener=memoized_trainers)
    others = {fmt: r["others"][:2] for fmt, r in results.items() if r["other"]}
    assert not others, others
    for fmt, r in results.items():
        assert r["refused"] > 0, fmt  # the mutations do reach the checks
        assert r["opened"] >= 1, fmt  # (input 0 is the valid file)
