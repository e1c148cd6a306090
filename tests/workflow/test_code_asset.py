"""The code tarballs: what goes in, and the same bytes on every synth."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from stacks.workflow.code_asset import source_files, tarball_bytes, write_tarball

ROOT = Path(__file__).resolve().parents[2]


def _tree(tmp_path: Path) -> Path:
    source = tmp_path / "code"
    (source / "__pycache__").mkdir(parents=True)
    (source / "tests").mkdir()
    (source / "pkg").mkdir()
    (source / "train.py").write_text("print('train')\n")
    (source / "pkg" / "util.py").write_text("X = 1\n")
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    (source / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    (source / "tests" / "test_train.py").write_text("")
    (source / ".env").write_text("SECRET=1\n")
    return source


def test_only_source_files_go_in_sorted(tmp_path):
    source = _tree(tmp_path)
    assert [p.as_posix() for p in source_files(source)] == ["pkg/util.py", "run.sh", "train.py"]


def test_the_archive_is_deterministic_and_anonymous(tmp_path):
    source = _tree(tmp_path)
    first = tarball_bytes(source)
    (source / "train.py").touch()  # a new mtime changes nothing
    assert tarball_bytes(source) == first
    assert first[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["pkg/util.py", "run.sh", "train.py"]
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            0,
            0,
            0,
            "",
            "",
        )
    assert {m.name: m.mode for m in members}["run.sh"] == 0o755
    (source / "train.py").write_text("print('changed')\n")
    assert tarball_bytes(source) != first


def test_the_written_file_is_named_by_content(tmp_path):
    source = _tree(tmp_path)
    path = write_tarball(source, "Code")
    assert path == write_tarball(source, "Code")
    assert gzip.decompress(path.read_bytes())


def test_the_training_code_package_holds_the_shared_formatting_module():
    names = [p.as_posix() for p in source_files(ROOT / "training_code")]
    assert "chat_format.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
