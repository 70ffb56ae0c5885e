"""bench/RESULTS.md's hand-written sections survive the report of a new run."""

from pathlib import Path

from bench import report

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "RESULTS.md"
META = {
    "date": "2024-06-01 12:00 UTC",
    "commit": "abc",
    "command": "make bench",
    "connections": 16,
    "threads": 2,
    "warmup": 3,
    "rounds": 3,
    "duration": 10,
    "cores": 2,
    "cpu": "",
    "memory": "",
    "os": "Linux",
    "python": "3.11",
    "postgresql": "15",
    "wrk": "wrk 4.1.0",
    "workers": 4,
}


def test_a_new_report_keeps_the_search_plans_section_and_nothing_else():
    previous = RESULTS.read_text()
    section = previous[previous.index("## Search plans") : previous.index("## Environment")]
    assert "EXPLAIN ANALYZE" in section
    fixed_cost = previous[previous.index("## Fixed cost") : previous.index("## Search plans")]
    assert "calls per request" in fixed_cost

    text = report.render({"meta": META, "sizes": {}, "failure": None}, previous)
    assert text.count("## Search plans") == 1
    assert section in text
    assert fixed_cost in text
    assert text.index("## Search plans") < text.index("## Environment")
    # The previous run's own figures are not carried over.
    assert previous.split("\n", 3)[2] not in text
    assert "## 1,000 items" not in text


def test_a_first_report_has_no_hand_written_section():
    text = report.render({"meta": META, "sizes": {}, "failure": None})
    assert "## Search plans" not in text
