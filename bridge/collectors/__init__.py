"""Collectors: metrics and logs gathered for a drill's span, written to the run directory.

Local ones here: :mod:`scrape` (Prometheus text endpoints → ``metrics.csv``), :mod:`logs`
(log files → ``logs/<source>.log``, secrets masked by :mod:`masking`) and :mod:`signatures`
(error signatures per second → ``logs/signatures.csv``); :mod:`promtext` parses the
exposition format.
"""

from bridge.collectors.logs import CollectedLog, LogCollector, LogSource
from bridge.collectors.masking import Masker, mask_line, mask_text
from bridge.collectors.scrape import Scraper, ScrapeResult, ScrapeTarget
from bridge.collectors.signatures import SignatureCounter, line_timestamp, signatures

__all__ = [
    "CollectedLog",
    "LogCollector",
    "LogSource",
    "Masker",
    "ScrapeResult",
    "ScrapeTarget",
    "Scraper",
    "SignatureCounter",
    "line_timestamp",
    "mask_line",
    "mask_text",
    "signatures",
]
