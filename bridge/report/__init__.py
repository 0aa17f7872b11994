"""Reports: papermill executes the notebooks into the run or suite directory; nbconvert renders
report.html in-process. Public surface: :func:`report`, :func:`report_run`, :func:`report_suite`."""

from bridge.report.build import Report, report, report_run, report_suite

__all__ = ["Report", "report", "report_run", "report_suite"]
