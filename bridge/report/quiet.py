"""Third-party warnings that are ours to prevent, not the user's to read.

Our notebooks carry cell ids, so nbformat has nothing to warn about; but a notebook edited by
hand in an old editor, or papermill's injected cell on an older papermill, could lose them, and
nbformat's ``MissingIDFieldWarning`` would then reach the terminal of someone running a drill.
Only these specific categories are silenced, once, process-wide (``warnings.catch_warnings`` is
not thread-safe, and suite reports run in threads).
"""

from __future__ import annotations

import warnings
from functools import lru_cache


@lru_cache(maxsize=1)
def silence_notebook_warnings() -> None:
    from nbformat.warnings import DuplicateCellId, MissingIDFieldWarning

    for category in (MissingIDFieldWarning, DuplicateCellId):
        warnings.filterwarnings("ignore", category=category)
