"""Render an executed notebook to a self-contained HTML page, in-process (no ``jupyter nbconvert``
subprocess: that alone costs ~2 s of start-up).

Code cells and prompts are hidden, and so are cells tagged ``dev`` (notes for whoever opens the
notebook in JupyterLab, not for the reader of the report); figures are already inline (data: URIs). The lab template's
MathJax, Mermaid and RequireJS loaders point at a CDN; the report has neither math nor diagrams, so a
two-block template extension drops them and the page needs nothing from the network.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from bridge.report.quiet import silence_notebook_warnings

DEV_TAG = "dev"  # cells for developers, left out of report.html

_TEMPLATE = (
    "{%- extends 'lab/index.html.j2' -%}"
    "{%- block html_head_js_mathjax -%}{%- endblock -%}"
    "{%- block html_head_js_mermaidjs -%}{%- endblock -%}"
    "{%- block html_head_js_requirejs -%}{%- endblock -%}"
)


@lru_cache(maxsize=1)
def _exporter() -> Any:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[DictLoader({"mqdrill.html.j2": _TEMPLATE})],
        template_file="mqdrill.html.j2",
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def render_html(notebook: Path, title: str | None = None) -> str:
    """The HTML for an executed notebook file."""
    import nbformat

    silence_notebook_warnings()
    nb = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
    nb.cells = [c for c in nb.cells if DEV_TAG not in c.get("metadata", {}).get("tags", [])]
    if title:
        nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    return str(body)


def write_html(notebook: Path, target: Path, title: str | None = None) -> Path:
    target.write_text(render_html(notebook, title), encoding="utf-8")
    return target
