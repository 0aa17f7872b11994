"""Kept for older imports: drafted drills live in :mod:`bridge.discovery.drafts` and ``files``."""

from bridge.discovery import Drafts, DrillDraft, draft_drills, write_drills

__all__ = ["Drafts", "DrillDraft", "draft_drills", "write_drills"]
