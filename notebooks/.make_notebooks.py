import nbformat as nbf
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell

def nb(cells):
    n = new_notebook(cells=cells)
    n.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}}
    return n

def params(src):
    c = new_code_cell(src)
    c.metadata["tags"] = ["parameters"]
    return c

drill = nb([
    new_markdown_cell("# mqdrill drill report\n\nThin view over `bridge.analysis`: every figure and table below is computed there. "
                      "Run by `mqdrill report RUN` (papermill), or open in JupyterLab and set `run_dir`."),
    new_code_cell("%reset -f\n# (a clean namespace: mqdrill report reuses one warm kernel for several notebooks)"),
    params('run_dir = "reports/runs/example"  # a run directory (contract v1)'),
    new_code_cell("from IPython.display import HTML, Markdown, display\n\n"
                  "from bridge.analysis import analyze, plots, tables\n\n"
                  "a = analyze(run_dir)\n"
                  "meta = a.run.meta\n"
                  "display(Markdown(\n"
                  "    f\"**Run** `{a.run.run_id}` · **drill** {meta.get('drill', '?')} · **scenario** {meta.get('scenario', '?')} \"\n"
                  "    f\"· **causes** {', '.join(meta.get('causes') or []) or '?'} · **engine** {meta.get('engine', '?')} \"\n"
                  "    f\"· **status** {meta.get('status', '?')}\"\n"
                  "))"),
    new_markdown_cell("## Verdict"),
    new_code_cell("display(HTML(tables.verdict_table(a)))"),
    new_markdown_cell("## Timeline\n\nBaseline (green), fault (red) and recovery (blue) windows come from `events.jsonl`; "
                      "dashed lines mark inject/recover requested, solid lines confirmed."),
    new_code_cell("plots.timeline(a);"),
    new_markdown_cell("## Cart visibility delay"),
    new_code_cell("if plots.visibility(a) is None:\n    display(Markdown('_No visibility probe in this run._'))"),
    new_markdown_cell("## Consume delay and backlog"),
    new_code_cell("if plots.consume(a) is None:\n    display(Markdown('_No consume-delay or backlog metric was collected._'))\n"
                  "else:\n    display(HTML(tables.consume_table(a)))"),
    new_markdown_cell("## Error signatures that appeared or grew during the fault"),
    new_code_cell("if plots.signatures(a) is None:\n    display(Markdown('_No error signature appeared or grew._'))"),
    new_markdown_cell("## Per window"),
    new_code_cell("display(HTML(tables.window_table(a)))"),
    new_markdown_cell("## Predicted vs observed impact"),
    new_code_cell("display(HTML(tables.impact_table(a)))"),
    new_markdown_cell("## Protections"),
    new_code_cell("display(HTML(tables.protections_table(a)))"),
    new_markdown_cell("## Notes on the record"),
    new_code_cell("notes = a.run.notes + a.problems\n"
                  "display(Markdown('\\n'.join(f'- {n}' for n in notes) if notes else '_The record is complete._'))"),
])
suite = nb([
    new_markdown_cell("# mqdrill suite report\n\nThin view over `bridge.analysis`. Run by `mqdrill report SUITE`, "
                      "or open in JupyterLab and set `suite_dir`."),
    new_code_cell("%reset -f\n# (a clean namespace: mqdrill report reuses one warm kernel for several notebooks)"),
    params('suite_dir = "reports/suites/example"  # a suite directory (suite.json + run directories)'),
    new_code_cell("from IPython.display import HTML, Markdown, display\n\n"
                  "from bridge.analysis import plots, read_suite, tables\n\n"
                  "suite = read_suite(suite_dir)\n"
                  "m = suite.meta\n"
                  "display(Markdown(f\"**Suite** {m.get('name', '?')} (`{m.get('suite_id', '?')}`) · **status** {m.get('status', '?')} \"\n"
                  "                 f\"· **drills** {len(suite.rows)}\"))"),
    new_markdown_cell("## Dependency matrix\n\nApplications × middleware components, coloured by the strongest conclusive verdict across the suite's scenarios."),
    new_code_cell("if plots.matrix(suite) is None:\n    display(Markdown('_No drill in this suite could be read._'))"),
    new_markdown_cell("## Drills"),
    new_code_cell("display(HTML(tables.suite_table(suite)))\n"
                  "links = [f'<a href=\"{r.run_dir.relative_to(suite.path).as_posix()}/report.html\">{r.drill}</a>' for r in suite.rows]\n"
                  "display(HTML('Drill reports: ' + ' · '.join(links)))"),
    new_code_cell("if suite.notes:\n    display(Markdown('\\n'.join(f'- {n}' for n in suite.notes)))"),
])
nbf.write(drill, "notebooks/drill_report.ipynb")
nbf.write(suite, "notebooks/suite_report.ipynb")
