"""Reports: papermill executes the notebooks into the run or suite directory; nbconvert renders
report.html in-process. Public surface: :func:`report`, :func:`report_run`, :func:`report_suite`, and
:func:`analyse_and_report` for the runner's ``after_run`` hook."""

from bridge.report.build import Report, analyse_and_report, report, report_run, report_suite

__all__ = ["Report", "analyse_and_report", "report", "report_run", "report_suite"]
