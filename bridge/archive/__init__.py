"""The archive: finished runs and suites frozen (checksummed, read-only, indexed).

Public surface: :func:`archive`, :func:`verify`, :func:`load_index`, :func:`ensure_writable`,
:func:`auto_archive`, :func:`archive_root`.
"""

from bridge.archive.auto import auto_archive
from bridge.archive.store import archive, archive_root, ensure_writable, load_index, verify

__all__ = ["archive", "archive_root", "auto_archive", "ensure_writable", "load_index", "verify"]
