"""Suites: many drills from one file, serially or in parallel where they do not overlap."""
