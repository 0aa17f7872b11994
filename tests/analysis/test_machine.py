"""The machine is part of the evidence: a late probe or a saturated host is named, not the app."""

from __future__ import annotations

from pathlib import Path

from bridge.analysis import analyze, write_verdict
from bridge.analysis.synthetic import HEALTHY, Profile, Scenario, write_run
from bridge.collectors.host import HOST_URL, HostSampler, read_cpu_times, read_loadavg, with_host

LATE = Profile(lateness_ms=800.0)  # the probe's loop starved: every send 0.8 s behind schedule


def _verdict(tmp_path: Path, sc: Scenario) -> dict[str, object]:
    return dict(write_verdict(write_run(tmp_path / "r", sc))["verdicts"][0])


def test_a_probe_late_in_the_baseline_is_inconclusive_with_the_lateness_named(tmp_path: Path) -> None:
    v = _verdict(tmp_path, Scenario(baseline=[(60.0, LATE)], host_busy_percent=97.0))
    reasons = v["reasons"]
    assert v["strength"] == "inconclusive" and v["recovered"] is None
    assert isinstance(reasons, list) and "the probe was late by 800 ms (p95" in reasons[0]
    assert "in the baseline window" in reasons[0] and "CPU 97 % busy" in reasons[0]
    evidence = v["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["probe_lateness_ms"]["baseline"]["p95"] == 800.0
    assert evidence["probe_lateness_ms"]["fault"]["p95"] == 1.0


def test_a_probe_late_in_the_fault_window_overrules_a_strong_verdict(tmp_path: Path) -> None:
    v = _verdict(tmp_path, Scenario(fault=[(30.0, Profile(success=0.0, visible=0.0, lateness_ms=2000.0))]))
    assert v["strength"] == "inconclusive"
    assert "late by 2000 ms (p95; worst 2000 ms) in the fault window" in v["reasons"][0]  # type: ignore[index]


def test_lateness_within_the_tolerance_changes_nothing(tmp_path: Path) -> None:
    v = _verdict(tmp_path, Scenario(baseline=[(60.0, Profile(lateness_ms=200.0))]))
    assert v["strength"] == "strong"


def test_the_drill_can_allow_more_lateness(tmp_path: Path) -> None:
    sc = Scenario(baseline=[(60.0, LATE)], tolerances={"probe_lateness_ms_max": 1000})
    assert _verdict(tmp_path, sc)["strength"] == "strong"


def test_a_baseline_broken_on_a_saturated_host_blames_the_host(tmp_path: Path) -> None:
    v = _verdict(tmp_path, Scenario(baseline=[(60.0, Profile(success=0.9))], host_busy_percent=100.0))
    reasons = v["reasons"]
    assert v["strength"] == "inconclusive" and isinstance(reasons, list)
    assert reasons[0].startswith("The baseline broke while the host was saturated: the host's load was CPU 100 % busy")
    assert any("baseline itself violates" in r for r in reasons)
    assert v["evidence"]["host"]["baseline"]["saturated"] is True  # type: ignore[index]


def test_a_baseline_broken_on_a_quiet_host_is_the_applications(tmp_path: Path) -> None:
    v = _verdict(tmp_path, Scenario(baseline=[(60.0, Profile(success=0.9))], host_busy_percent=20.0))
    assert v["strength"] == "inconclusive"
    assert not any("host" in r for r in v["reasons"])  # type: ignore[attr-defined]


def test_a_saturated_host_does_not_overrule_a_clear_verdict(tmp_path: Path) -> None:
    # e.g. a cpu-full drill saturates the host on purpose: the fault window's load is the fault
    v = _verdict(tmp_path, Scenario(fault=[(30.0, HEALTHY)], expected="weak", host_busy_percent=100.0))
    assert v["strength"] == "weak"


def test_tolerances_from_run_json_decide_what_matters(tmp_path: Path) -> None:
    degraded = [(30.0, Profile(success=0.97))]
    assert analyze(write_run(tmp_path / "a", Scenario(fault=degraded))).decision.strength == "strong"
    lenient = Scenario(fault=degraded, tolerances={"success_drop": 0.05, "confidence": 0.999})
    a = analyze(write_run(tmp_path / "b", lenient))
    assert a.decision.strength == "inconclusive" and a.judging.tolerance.alpha == 0.001
    bad = Scenario(fault=degraded, tolerances={"confidence": 7, "min_samples": 0})
    b = analyze(write_run(tmp_path / "c", bad))
    assert b.decision.strength == "strong" and b.judging.tolerance.alpha == 0.01
    assert any("tolerances.confidence=7" in p for p in b.problems)


def test_min_samples_per_window_is_a_tolerance(tmp_path: Path) -> None:
    sc = Scenario(rate=0.5, fault=[(30.0, HEALTHY)], expected="weak", slo={"success_ratio_min": 0.9})
    assert analyze(write_run(tmp_path / "a", sc)).decision.strength == "inconclusive"  # 30 needed, 15 in the fault
    sc.tolerances = {"min_samples": 10}
    assert analyze(write_run(tmp_path / "b", sc)).decision.strength == "weak"


def _fake_proc(root: Path, busy: int, idle: int, load: str = "3.50 2.00 1.00 5/700 123") -> Path:
    root.mkdir(exist_ok=True)
    (root / "loadavg").write_text(load + "\n")
    (root / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    return root


def test_the_host_sampler_reports_cpu_busy_between_two_samples(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path / "proc", busy=1000, idle=1000)
    sampler = HostSampler(proc, cpus=lambda: 2)
    first = sampler.text()
    assert "host_load1 3.5" in first and "host_cpus 2" in first and "host_procs_running 5" in first
    assert "host_cpu_busy_percent" not in first  # one reading is no share of anything
    _fake_proc(proc, busy=1300, idle=1100)
    assert "host_cpu_busy_percent 75.00" in sampler.text()
    assert read_cpu_times("cpu 1 2 3 4 5 6 7 8 9 10\n") == (1 + 2 + 3 + 6 + 7 + 8, 36)
    assert read_loadavg("0.5 0.6 0.7 2/9 1") == (0.5, 0.6, 2)


def test_the_host_target_goes_through_the_scraper(tmp_path: Path) -> None:
    from bridge.collectors.scrape import Scraper, ScrapeTarget

    seen: list[str] = []

    def other(url: str, timeout_s: float) -> str:
        seen.append(url)
        return "up 1\n"

    proc = _fake_proc(tmp_path / "proc", busy=10, idle=10)
    fetch = with_host(other, HostSampler(proc, cpus=lambda: 2))
    out = tmp_path / "metrics.csv"
    scraper = Scraper([ScrapeTarget("app", "http://x/metrics"), ScrapeTarget("host", HOST_URL)], out, fetch=fetch)
    scraper.scrape_once()
    _fake_proc(proc, busy=20, idle=20)
    scraper.scrape_once()
    scraper.stop(final=False)
    text = out.read_text()
    assert seen == ["http://x/metrics"] * 2
    assert ",host,host_cpu_busy_percent,50.0," in text and ",host,host_load1,3.5," in text
    (proc / "stat").unlink()
    broken = Scraper([ScrapeTarget("host", HOST_URL)], tmp_path / "m2.csv", fetch=fetch)
    assert broken.scrape_once()[0].ok is False  # no /proc: a failed scrape, never a crash
    broken.stop(final=False)


def test_a_busy_span_reads_the_cpu_share_and_the_load_since_it_began(tmp_path: Path) -> None:
    from bridge.collectors.host import BusySpan

    proc = _fake_proc(tmp_path / "proc", busy=1000, idle=1000)
    span = BusySpan(proc, cpus=lambda: 2)
    assert span.since_begin() is None  # never begun
    span.begin()
    assert span.since_begin() is None  # no time passed
    _fake_proc(proc, busy=1950, idle=1050, load="5.25 2.00 1.00 5/700 123")
    assert span.since_begin() == (95.0, 5.25, 2)
    (proc / "stat").unlink()
    assert span.since_begin() is None  # no /proc: no figure, never a crash


def test_a_refused_preflight_names_a_saturated_host_and_only_then(tmp_path: Path) -> None:
    from bridge.analysis.machine import SATURATED_BUSY_PERCENT, saturated_preflight_note
    from bridge.collectors.host import BusySpan
    from bridge.runner.wiring import machine_note

    note = saturated_preflight_note(97.0, 5.1, 2)
    assert note is not None and "CPU 97 % busy, load average 5.1 on 2 CPU(s)" in note and "quieter machine" in note
    assert saturated_preflight_note(SATURATED_BUSY_PERCENT - 0.5, 9.0, 2) is None
    proc = _fake_proc(tmp_path / "proc", busy=100, idle=100)
    span = BusySpan(proc, cpus=lambda: 2)
    span.begin()
    _fake_proc(proc, busy=200, idle=190)  # 100 of 190 jiffies busy: 53 %
    assert machine_note(span) == []
    _fake_proc(proc, busy=1100, idle=200)  # 1000 of 1100 busy: 91 %
    assert machine_note(span) == [saturated_preflight_note(1000 / 1100 * 100, 3.5, 2)]
