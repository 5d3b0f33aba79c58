"""Atomic writes: the old file or the whole new one, never half of one, and never through a planted link."""

import os
import stat

import pytest

from cnnbook.files import atomic_open, atomic_write


def test_writes_text_and_bytes_with_the_mode_asked(tmp_path):
    atomic_write(tmp_path / "a" / "b.txt", "héllo\n")
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    atomic_write(tmp_path / "c.bin", b"\x00\x01", mode=0o600, fsync=True)
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(os.stat(tmp_path / "c.bin").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b.txt").st_mode) == 0o644


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target, text=True) as handle:
            handle.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_a_symlink_at_the_target_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "report.txt").symlink_to(victim)
    atomic_write(tmp_path / "report.txt", "report")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "report.txt").is_symlink() and (tmp_path / "report.txt").read_text() == "report"
