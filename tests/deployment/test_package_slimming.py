"""The Zappa package loses the debug sections of compiled extensions, and nothing else."""

import ctypes
import shutil
import zipfile
from pathlib import Path

import pycurl._pycurl
import pytest

from websockets_app.deployment import package_slimming
from websockets_app.deployment.package_slimming import strip_debug_info

EXTENSION = Path(pycurl._pycurl.__file__)  # a real wheel's extension, shipped with its debug sections
README = b"not an ELF file, though named like one"


def build_package(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(EXTENSION, "pycurl/" + EXTENSION.name)
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
        info = zipfile.ZipInfo("bin/tool.so", date_time=(2026, 1, 2, 3, 4, 6))
        info.external_attr = 0o755 << 16
        archive.writestr(info, README)


@pytest.mark.skipif(shutil.which("strip") is None, reason="needs GNU binutils' strip")
def test_debug_sections_go_and_every_file_stays(tmp_path):
    package = tmp_path / "site-dev.zip"
    build_package(package)
    size_before = package.stat().st_size

    saved = strip_debug_info(package)

    assert saved == size_before - package.stat().st_size
    assert saved > 256 * 1024
    with zipfile.ZipFile(package) as archive:
        assert [info.filename for info in archive.infolist()] == [
            f"pycurl/{EXTENSION.name}",
            "handler.py",
            "bin/tool.so",
        ]
        assert archive.read("handler.py") == b"def handler(event, context):\n    return None\n"
        tool = archive.getinfo("bin/tool.so")
        assert (archive.read(tool), tool.external_attr >> 16, tool.date_time) == (README, 0o755, (2026, 1, 2, 3, 4, 6))
        stripped = archive.read(f"pycurl/{EXTENSION.name}")
    assert len(stripped) < EXTENSION.stat().st_size / 3
    copy = tmp_path / "pycurl" / EXTENSION.name
    copy.parent.mkdir()
    copy.write_bytes(stripped)
    (tmp_path / "pycurl.libs").symlink_to(EXTENSION.parent.parent / "pycurl.libs")  # the libraries it links to
    ctypes.CDLL(str(copy))  # still a shared object the loader accepts
    assert package_slimming._is_shared_object(copy.name, stripped)


def test_without_strip_the_package_is_left_as_it_is(tmp_path, monkeypatch):
    package = tmp_path / "site-dev.zip"
    build_package(package)
    original = package.read_bytes()
    monkeypatch.setattr(shutil, "which", lambda name: None)

    assert strip_debug_info(package) == 0
    assert package.read_bytes() == original
