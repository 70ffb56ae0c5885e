"""The benchmark harness's own logic: wrk's report, the data's shape, the target checks.

These are not benchmarks (nothing here is timed); they keep ``make bench`` honest.
"""

import os
import time

import psycopg
import pytest

from bench import load, profiling, report, servers, wrk

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41234/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.31ms    4.02ms  88.10ms   81.22%
    Req/Sec   652.11     61.87   810.00     70.50%
  Latency Distribution
     50%  {p50}
     75%   13.90ms
     90%   16.72ms
     99%  {p99}
  13003 requests in 10.01s, 45.10MB read
{extra}Requests/sec:   1299.02
Transfer/sec:      4.51MB
"""


def test_wrk_report_is_read_with_units_and_failures():
    extra = (
        "  Socket errors: connect 0, read 3, write 0, timeout 2\n  Non-2xx or 3xx responses: 7\n"
    )
    result = wrk.parse(WRK_OUTPUT.format(p50="850.00us", p99="1.20s ", extra=extra))
    assert result.requests == 13003
    assert result.seconds == 10.01
    assert result.rps == 1299.02
    assert result.p50 == pytest.approx(0.85)
    assert result.p99 == pytest.approx(1200)
    assert (result.non_2xx, result.errors) == (7, 5)


def test_wrk_report_without_failures_counts_none():
    result = wrk.parse(WRK_OUTPUT.format(p50="11.80ms", p99="31.05ms", extra=""))
    assert (result.non_2xx, result.errors) == (0, 0)
    assert result.p99 == pytest.approx(31.05)


def test_wrk_run_in_which_nothing_came_back_counts_every_connection_as_an_error():
    output = WRK_OUTPUT.format(p50="0.00us", p99="0.00us", extra="")
    output = output.replace("13003 requests", "0 requests").replace("1299.02", "0.00")
    result = wrk.parse(output)
    assert (result.requests, result.rps) == (0, 0.0)
    assert result.errors == 16
    assert (result.p50, result.p99) == (None, None)


def test_wrk_report_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="unexpected wrk output"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_rotation_script_lists_every_path_quoted(tmp_path):
    script = wrk.rotation_script(['/catalog/a/"b"/', "/search?q=x y"], tmp_path, "item")
    text = script.read_text()
    assert '"/catalog/a/\\"b\\"/"' in text
    assert '"/search?q=x y"' in text
    assert "function request()" in text


@pytest.mark.parametrize("total", [50, 1_000, 100_000, 1_000_000])
def test_categories_have_a_long_tail_and_hold_every_item(total):
    sizes = load.category_sizes(total)
    assert sum(sizes) == total
    assert len(sizes) == len(load.CATEGORIES) == 50
    assert sizes == sorted(sizes, reverse=True)
    assert min(sizes) >= 1
    if total >= 1_000:
        assert sizes[0] > 0.15 * total  # some categories are large ...
        assert sizes[-1] < 0.01 * total  # ... and many are small


def test_sizes_name_their_databases():
    assert load.database_name(1_000) == "catalog_bench_1k"
    assert load.database_name(100_000) == "catalog_bench_100k"
    assert load.database_name(1_000_000) == "catalog_bench_1m"
    assert load.database_name(2_500) == "catalog_bench_2500"
    assert (
        load.with_database("postgres://u@127.0.0.1:5432/", "x") == "postgresql://u@127.0.0.1:5432/x"
    )
    with pytest.raises(SystemExit):
        load.libpq_url("sqlite:///x.sqlite")


@pytest.mark.slow
def test_loader_fills_a_database_that_the_app_reads(empty_database_url):
    if not empty_database_url.startswith("postgres"):
        pytest.skip("the loader uses PostgreSQL's COPY")
    url = load.libpq_url(empty_database_url)
    load.upgrade(url)
    facts = load.load(url, 500)
    assert facts == {"categories": 50, "users": 10, "pictures": load.PICTURES}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 500
        counted = conn.execute(
            "SELECT count(*) FROM categories c"
            " WHERE item_count <> (SELECT count(*) FROM items i WHERE i.category_id = c.id)"
        ).fetchone()[0]
        assert counted == 0
    slug, count = load.largest_category(url)
    assert count == max(load.category_sizes(500))
    assert load.slug_at(url, slug, count - 1) is not None
    assert load.slug_at(url, slug, count) is None
    assert len(load.sample_items(url, 20)) == 20
    with psycopg.connect(url) as conn:
        # A quarter of the items show one of the pictures, each stored once with its files.
        shown = conn.execute(
            "SELECT count(*), count(image_sha256), count(DISTINCT image_sha256) FROM items"
        ).fetchone()
        files = conn.execute("SELECT count(*) FROM image_files").fetchone()[0]
    assert 0.15 * 500 < shown[1] < 0.35 * 500
    assert shown[2] <= load.PICTURES
    assert files == 5 * load.PICTURES
    assert len(load.sample_pictures(url, 10)) == 10


def _endpoint(ratio, p99=10.0, non_2xx=0, errors=0):
    return {
        "status": "ok",
        "title": "x",
        "path": "/",
        "ratio": ratio,
        "p99_ms": p99,
        "non_2xx": non_2xx,
        "errors": errors,
        "hello_non_2xx": 0,
        "hello_errors": 0,
    }


def _results(large_ratio, large_p99, errors=0):
    keys = list(report.ORDER)
    small = {k: _endpoint(0.5) for k in keys}
    large = {k: _endpoint(large_ratio, p99=large_p99, errors=errors) for k in keys}
    json_data = {
        "status": "ok",
        "app": {"peak_growth_mb": 12.0, "non_2xx": 0, "errors": 0},
        "naive": {"peak_growth_mb": 300.0, "non_2xx": 0, "errors": 0},
        "speedup": 4.2,
    }
    return {
        "sizes": {
            "1000": {"endpoints": small},
            "100000": {"endpoints": small, "catalog_json": json_data},
            "1000000": {"endpoints": large},
        }
    }


def _verdicts(results):
    return {name: verdict for name, _, _, verdict in report.targets(results)}


def test_targets_pass_when_every_bar_is_met():
    verdicts = _verdicts(_results(large_ratio=0.7, large_p99=12.0))
    assert set(verdicts.values()) == {"PASS"}
    # Ratios (the no-op route, the deep page and the two conditional GETs among them), the
    # deep page against the first, a p99 per endpoint, /catalog.json's two, errors.
    assert len(verdicts) == 10 + 1 + 10 + 2 + 1


def test_targets_fail_on_low_ratio_slow_p99_and_errors():
    verdicts = _verdicts(_results(large_ratio=0.1, large_p99=20.0, errors=3))
    assert verdicts["home ratio to hello at 1,000,000"] == "FAIL"
    assert verdicts["search ratio to hello at 1,000,000"] == "PASS"  # 0.1 clears 0.08
    assert verdicts["conditional_page ratio to hello at 1,000,000"] == "FAIL"  # under 0.40
    assert verdicts["item p99 at 1,000,000 within 1.3× of p99 at 1,000"] == "FAIL"
    assert verdicts["zero non-2xx responses and zero errors, every run"] == "FAIL"


def test_targets_at_a_million_are_not_run_without_that_size():
    results = _results(large_ratio=0.4, large_p99=12.0)
    del results["sizes"]["1000000"]
    verdicts = _verdicts(results)
    assert verdicts["home ratio to hello at 1,000,000"] == "NOT RUN"
    assert verdicts["/catalog.json at 100,000: faster than the naive version"] == "PASS"


def test_missing_endpoint_fails_its_target():
    results = _results(large_ratio=0.4, large_p99=12.0)
    results["sizes"]["1000000"]["endpoints"]["search"] = {"status": "not available"}
    verdicts = _verdicts(results)
    assert verdicts["search ratio to hello at 1,000,000"] == "FAIL"


def test_results_render_every_size_endpoint_and_verdict():
    results = _results(large_ratio=0.4, large_p99=12.0)
    results["sizes"]["1000000"]["endpoints"]["search"] = {
        "status": "not available",
        "title": "search",
        "path": "/search?q=x",
        "note": "HTTP 404 (expected 200)",
    }
    for size, data in results["sizes"].items():
        data["database"] = {"database": f"catalog_bench_{size}", "reused": True}
        for found in data["endpoints"].values():
            if found["status"] == "ok":
                found.update(rps=100.0, hello_rps=250.0, p50_ms=5.0, queries=2)
                found.update(rss_before_mb=80.0, rss_after_mb=81.5)
    json_data = results["sizes"]["100000"]["catalog_json"]
    for side in ("app", "naive"):
        json_data[side].update(
            downloads=3, median_seconds=1.5, bytes=30_000_000, rss_before_mb=80.0, peak_reset=True
        )
    results["meta"] = {
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
    text = report.render(results)
    assert text.count("## 1,000,000 items") == 1
    assert "| search | `/search?q=x` | not available |" in text
    assert "- search: not available: HTTP 404 (expected 200)" in text
    assert "| search ratio to hello at 1,000,000 | ≥ 0.08 | not available | FAIL |" in text
    assert "Catalog downloads 4.20× faster than the naive version." in text
    assert "| 0.400 |" in text
    assert "| noop ratio to hello at 1,000,000 | ≥ 0.6 | 0.400 | FAIL |" in text


def test_cpu_per_request_is_shown_beside_hello_s():
    found = {"cpu_ms": 2.2041, "hello_cpu_ms": 0.6}
    assert report._cpu(found) == "2.20 (0.60)"
    assert report._cpu({}) == "–"


def test_cpu_seconds_of_a_process_grow_with_its_work():
    before = servers.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.1
    while time.process_time() < deadline:
        pass
    after = servers.cpu_seconds(os.getpid())
    assert before is not None
    assert after is not None
    assert after - before >= 0.05
    assert servers.cpu_seconds(2**22 + 1) is None


def test_the_benchmark_app_adds_a_no_op_route_production_lacks(make_app):
    from bench.app import NOOP_PATH, create_app

    config = {"TESTING": True, "SECRET_KEY": "test-secret-key"}
    production = make_app(**config)
    assert NOOP_PATH not in {rule.rule for rule in production.url_map.iter_rules()}
    bench_app = create_app({**config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = bench_app.test_client().get(NOOP_PATH)
    assert response.status_code == 200
    assert response.data == b"ok"
    # Through the whole stack: the request log's id and the security headers.
    assert "X-Request-ID" in response.headers
    assert "Content-Security-Policy" in response.headers


def test_profile_summary_attributes_samples_to_phases(tmp_path):
    raw = tmp_path / "raw.txt"
    wsgi = 'process 1:"gunicorn";Flask.wsgi_app (flask/app.py:1511)'
    raw.write_text(
        f"{wsgi};Connection._execute_context (sqlalchemy/engine/base.py:1800);"
        "Connection.wait (psycopg/connection.py:400) 30\n"
        f"{wsgi};render_template (flask/templating.py:150);root (catalog/templates/x.html:3) 10\n"
        'process 1:"gunicorn";SyncWorker.accept (gunicorn/workers/sync.py:30) 10\n'
    )
    summary = profiling.summarise(raw)
    phases = dict(summary["phases"])
    assert summary["samples"] == 50
    assert phases["request"] == 80.0
    assert phases["SQL execute"] == 60.0
    assert phases["driver"] == 60.0
    assert phases["templates"] == 20.0
    assert dict(summary["self_by_package"]) == {
        "psycopg": 60.0,
        "templates": 20.0,
        "gunicorn": 20.0,
    }


def test_a_naive_download_cut_off_gives_a_lower_bound_and_no_app_error():
    results = _results(large_ratio=0.4, large_p99=12.0)
    json_data = results["sizes"]["100000"]["catalog_json"]
    del json_data["speedup"]
    json_data["speedup_at_least"] = 6.1
    json_data["naive"].update(errors=1, broke_after_seconds=30.5)
    rows = {name: (measured, verdict) for name, _, measured, verdict in report.targets(results)}
    measured, verdict = rows["/catalog.json at 100,000: faster than the naive version"]
    assert (measured, verdict) == ("≥ 6.10× (naive broke off after 30.5 s)", "PASS")
    assert rows["zero non-2xx responses and zero errors, every run"] == ("0", "PASS")
