"""Shrinking the package Zappa builds by the debug information of compiled extensions, which Lambda never reads.

Some wheels ship their extensions with DWARF debug sections (pycurl's own module is a quarter of its size without
them; docs/topics/performance.md has the package's figures). ``strip --strip-debug`` (GNU binutils) removes
those sections only; the code and its symbols stay as they are. Where ``strip`` is missing, or refuses a file (not
ELF, another platform's binutils), the file is kept as it was, so packaging never fails for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

__all__ = ("strip_debug_info",)

_ELF_MAGIC = b"\x7fELF"


def strip_debug_info(zip_path: str | os.PathLike[str]) -> int:
    """Rewrite the archive with the debug sections of its ELF shared objects removed; returns the bytes saved."""
    strip = shutil.which("strip")
    if strip is None:
        return 0
    path = Path(zip_path)
    before = path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="slim-package-") as scratch:
        slimmed = Path(scratch) / path.name
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(slimmed, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                if _is_shared_object(info.filename, data):
                    data = _stripped(strip, data, Path(scratch))
                target.writestr(info, data)
        if slimmed.stat().st_size >= before:
            return 0
        shutil.copymode(path, slimmed)
        shutil.move(slimmed, path)
    return before - path.stat().st_size


def _is_shared_object(name: str, data: bytes) -> bool:
    base = name.rsplit("/", 1)[-1]
    return (base.endswith(".so") or ".so." in base) and data.startswith(_ELF_MAGIC)


def _stripped(strip: str, data: bytes, scratch: Path) -> bytes:
    """``data`` without its debug sections, or unchanged when ``strip`` cannot do it."""
    work = scratch / "object.so"
    work.write_bytes(data)
    completed = subprocess.run([strip, "--strip-debug", str(work)], capture_output=True, check=False)  # noqa: S603
    result = work.read_bytes() if completed.returncode == 0 else data
    work.unlink()
    return result if result.startswith(_ELF_MAGIC) and len(result) <= len(data) else data
