"""Atomic writes: never a half-written file, and no temporary left behind by a killed writer."""
import os
import subprocess
import sys

from ganplay.files import atomic_write_bytes


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # ended and reaped: no process has it (pids are not reused this fast)


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "run.npz"
    orphan = tmp_path / f".run.npz.{_dead_pid()}.deadbeef.tmp"
    orphan.write_bytes(b"half a file")
    atomic_write_bytes(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert not orphan.exists()


def test_a_live_writers_temporary_and_other_files_are_left_alone(tmp_path):
    target = tmp_path / "run.npz"
    live = tmp_path / f".run.npz.{os.getppid()}.cafe.tmp"  # a live process (this one's parent)
    other = tmp_path / f".other.npz.{_dead_pid()}.beef.tmp"  # another file's temporary
    for p in (live, other):
        p.write_bytes(b"x")
    atomic_write_bytes(target, b"whole")
    assert live.exists() and other.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.npz")] == [live.name]
