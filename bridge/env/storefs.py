"""The broker's store on its own bounded filesystem, so a disk-fill fault means a really full disk.

A tmpfs of ``store_fs_mb`` is mounted at the store path when ``up`` starts the broker (mounting
needs root, or CAP_SYS_ADMIN). tmpfs was chosen over a loop-mounted image because it needs no
image file, no mkfs and no loop device, and ``statvfs`` reports it exactly as the broker's
``File.getTotalSpace``/``getFreeSpace`` checks do. Where mounting is refused, the store stays
on the parent filesystem and only disk-fill is unavailable.
"""

from __future__ import annotations

import os
from pathlib import Path

from bridge import process
from bridge.errors import ProcessError


def is_mounted(path: Path) -> bool:
    return os.path.ismount(path)


def mount(path: Path, size_mb: int) -> str:
    """Mount the bounded store filesystem; return a one-line description (or why it is not bounded)."""
    path.mkdir(parents=True, exist_ok=True)
    if is_mounted(path):
        return describe(path)
    if any(path.iterdir()):
        # mounting over existing data would hide it from a broker that may be using it
        return f"unbounded: {path} already holds data"
    try:
        process.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)], timeout=15)
    except ProcessError as exc:
        return f"unbounded: mount refused ({exc})"
    return describe(path)


def unmount(path: Path) -> None:
    if is_mounted(path):
        # lazy: a process that still holds a file open (it should not) does not block `down`
        process.run(["umount", "-l", str(path)], timeout=15, check=False)


def describe(path: Path) -> str:
    if not is_mounted(path):
        return "unbounded"
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return f"tmpfs {total // 2**20} MiB, {100 * used / total:.1f}% used"
