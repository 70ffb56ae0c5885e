"""Turn a run's results into bench/RESULTS.md, checking each target of the issue."""

from bench import profiling

TARGET_SIZE = 1_000_000
SMALL_SIZE = 1_000
JSON_SIZE = 100_000

# Ratio to hello each endpoint must reach at TARGET_SIZE.
RATIO_BARS = {
    "noop": 0.60,
    "home": 0.20,
    "category": 0.20,
    "category_deep": 0.20,
    "item": 0.25,
    "api_item": 0.30,
    "api_list": 0.20,
    "search": 0.08,
    "conditional": 0.40,
    "conditional_page": 0.40,
}
DEEP_WITHIN = 1.2
P99_WITHIN = 1.3
JSON_GROWTH_MB = 30
JSON_SPEEDUP = 3
ORDER = (
    "noop",
    "home",
    "category",
    "category_deep",
    "item",
    "search",
    "api_list",
    "api_item",
    "conditional",
    "conditional_page",
)


def _num(value, digits=0, unit="") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def _sizes(results) -> dict[int, dict]:
    return {int(size): data for size, data in results["sizes"].items()}


def _endpoint(results, size: int, key: str) -> dict | None:
    data = _sizes(results).get(size)
    if data is None:
        return None
    found = data.get("endpoints", {}).get(key)
    return found if found and found.get("status") == "ok" else found


def _indicative(results, key: str, field: str, digits: int) -> str:
    """Return ``field`` of ``key`` at the largest size measured, as a hint."""
    sizes = _sizes(results)
    for size in sorted(sizes, reverse=True):
        found = sizes[size].get("endpoints", {}).get(key)
        if found and found.get("status") == "ok" and found.get(field) is not None:
            return f"at {size:,}: {found[field]:.{digits}f}"
    return ""


def targets(results) -> list[tuple[str, str, str, str]]:
    """Return (target, bar, measured, verdict) for every target of the issue."""
    rows = []
    sizes = _sizes(results)
    at_target = TARGET_SIZE in sizes

    def missing(key, field, digits):
        hint = _indicative(results, key, field, digits)
        return (f"{TARGET_SIZE:,} not in this run; {hint}" if hint else "not measured"), "NOT RUN"

    for key, bar in RATIO_BARS.items():
        name = f"{key} ratio to hello at {TARGET_SIZE:,}"
        if not at_target:
            rows.append((name, f"≥ {bar}", *missing(key, "ratio", 3)))
            continue
        found = _endpoint(results, TARGET_SIZE, key) or {}
        if found.get("status") != "ok":
            rows.append((name, f"≥ {bar}", found.get("status", "not measured"), "FAIL"))
            continue
        ratio = found["ratio"]
        rows.append((name, f"≥ {bar}", f"{ratio:.3f}", "PASS" if ratio >= bar else "FAIL"))

    name = f"category deep page within {DEEP_WITHIN}× of its first, at {TARGET_SIZE:,}"
    pair_at = TARGET_SIZE if at_target else (max(sizes) if sizes else None)
    first = _endpoint(results, pair_at, "category") if pair_at else None
    deep = _endpoint(results, pair_at, "category_deep") if pair_at else None
    if first and deep and first.get("status") == deep.get("status") == "ok" and deep["ratio"]:
        slower = first["ratio"] / deep["ratio"]
        measured = f"first/deep throughput {slower:.2f}×"
        if at_target:
            rows.append((name, f"≤ {DEEP_WITHIN}×", measured, _verdict(slower <= DEEP_WITHIN)))
        else:
            rows.append((name, f"≤ {DEEP_WITHIN}×", f"at {pair_at:,}: {measured}", "NOT RUN"))
    else:
        rows.append((name, f"≤ {DEEP_WITHIN}×", "not measured", "FAIL" if at_target else "NOT RUN"))

    small = SMALL_SIZE if SMALL_SIZE in sizes else (min(sizes) if sizes else None)
    large = TARGET_SIZE if at_target else (max(sizes) if sizes else None)
    for key in ORDER:
        name = f"{key} p99 at {TARGET_SIZE:,} within {P99_WITHIN}× of p99 at {SMALL_SIZE:,}"
        low = _endpoint(results, small, key) if small else None
        high = _endpoint(results, large, key) if large else None
        exact = at_target and small == SMALL_SIZE
        if small == large:
            state = f"needs {SMALL_SIZE:,} and {TARGET_SIZE:,} in one run"
            rows.append((name, f"≤ {P99_WITHIN}×", state, "NOT RUN"))
            continue
        if not (low and high and low.get("status") == high.get("status") == "ok"):
            state = (high or low or {}).get("status", "not measured")
            rows.append((name, f"≤ {P99_WITHIN}×", state, "FAIL" if exact else "NOT RUN"))
            continue
        if not (high.get("p99_ms") and low.get("p99_ms")):
            measured = "no p99: too few requests completed"
            rows.append((name, f"≤ {P99_WITHIN}×", measured, "FAIL" if exact else "NOT RUN"))
            continue
        grew = high["p99_ms"] / low["p99_ms"]
        measured = f"{high['p99_ms']:.1f} ms / {low['p99_ms']:.1f} ms = {grew:.2f}×"
        if high.get("hello_p99_ms") and low.get("hello_p99_ms"):
            # Hello's own p99 at both sizes tells a slower catalog from a busier machine.
            measured += f" (hello {high['hello_p99_ms']:.1f} / {low['hello_p99_ms']:.1f} ms)"
        if exact:
            rows.append((name, f"≤ {P99_WITHIN}×", measured, _verdict(grew <= P99_WITHIN)))
        else:
            rows.append(
                (name, f"≤ {P99_WITHIN}×", f"{large:,} vs {small:,}: {measured}", "NOT RUN")
            )

    json_data = sizes.get(JSON_SIZE, {}).get("catalog_json")
    growth_name = f"/catalog.json at {JSON_SIZE:,}: worker RSS growth"
    speed_name = f"/catalog.json at {JSON_SIZE:,}: faster than the naive version"
    if json_data is None:
        rows.append((growth_name, f"< {JSON_GROWTH_MB} MB", "not measured", "NOT RUN"))
        rows.append((speed_name, f"≥ {JSON_SPEEDUP}×", "not measured", "NOT RUN"))
    elif json_data.get("status") != "ok":
        rows.append((growth_name, f"< {JSON_GROWTH_MB} MB", json_data["status"], "FAIL"))
        rows.append((speed_name, f"≥ {JSON_SPEEDUP}×", json_data["status"], "FAIL"))
    else:
        growth = json_data["app"]["peak_growth_mb"]
        rows.append(
            (
                growth_name,
                f"< {JSON_GROWTH_MB} MB",
                _num(growth, 1, " MB"),
                _verdict(growth is not None and growth < JSON_GROWTH_MB),
            )
        )
        speedup = json_data.get("speedup")
        at_least = json_data.get("speedup_at_least")
        if speedup is None and at_least is not None:
            naive = json_data["naive"]
            measured = f"≥ {at_least:.2f}× (naive broke off after {naive['broke_after_seconds']} s)"
            rows.append(
                (speed_name, f"≥ {JSON_SPEEDUP}×", measured, _verdict(at_least >= JSON_SPEEDUP))
            )
        else:
            rows.append(
                (
                    speed_name,
                    f"≥ {JSON_SPEEDUP}×",
                    _num(speedup, 2, "×"),
                    _verdict(speedup is not None and speedup >= JSON_SPEEDUP),
                )
            )

    bad = failures(results)
    rows.append(
        (
            "zero non-2xx responses and zero errors, every run",
            "0",
            "; ".join(bad) if bad else "0",
            _verdict(not bad),
        )
    )
    return rows


def failures(results) -> list[str]:
    """Return a line for each server and endpoint that had non-2xx responses or errors."""
    lines = []
    for size, data in sorted(_sizes(results).items()):
        for key, found in data.get("endpoints", {}).items():
            if found.get("status") != "ok":
                continue
            for side in ("", "hello_"):
                bad = (found.get(f"{side}non_2xx") or 0) + (found.get(f"{side}errors") or 0)
                if bad:
                    who = f"hello beside {key}" if side else key
                    lines.append(f"{size:,} {who}: {bad}")
        # The naive /catalog.json is a yardstick, not the app: its failures show in its row.
        found = (data.get("catalog_json") or {}).get("app") or {}
        bad = (found.get("non_2xx") or 0) + (found.get("errors") or 0)
        if bad:
            lines.append(f"{size:,} catalog.json: {bad}")
    return lines


def _ratio_range(found: dict) -> str:
    ratios = [
        r["app"]["rps"] / r["hello"]["rps"] for r in found.get("rounds", []) if r["hello"]["rps"]
    ]
    return f"{min(ratios):.3f}–{max(ratios):.3f}" if ratios else "–"


def _cpu(found: dict) -> str:
    cpu, hello = found.get("cpu_ms"), found.get("hello_cpu_ms")
    return f"{_num(cpu, 2)} ({_num(hello, 2)})" if cpu is not None else "–"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "–"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return lines


# Sections of RESULTS.md written by hand (measurements no run makes): a new report keeps
# them as the previous one had them.
KEPT_SECTIONS = ("Fixed cost", "Search plans")


def kept_sections(previous: str) -> list[str]:
    """Return the lines of ``previous``'s hand-written sections (``KEPT_SECTIONS``)."""
    kept: list[str] = []
    keeping = False
    for line in previous.splitlines():
        if line.startswith("## "):
            keeping = line[3:].strip() in KEPT_SECTIONS
        if keeping:
            kept.append(line)
    if kept and kept[-1]:
        kept.append("")
    return kept


def render(results, previous: str = "") -> str:
    """Return the Markdown of RESULTS.md for ``results``, keeping ``previous``'s own sections."""
    meta = results["meta"]
    out = ["# Benchmark results", ""]
    out.append(
        f"Run of {meta['date']} on commit `{meta['commit']}`: `{meta['command']}`"
        f" ({meta.get('duration_minutes', '?')} min). Regenerate with `make bench`;"
        " how it works is in the README's Benchmarks section."
    )
    out.append("")
    if results.get("failure"):
        out += [f"**Incomplete run**: {results['failure']}", ""]
    out += [
        "Every throughput figure is a ratio to the bare Flask app (`bench/hello.py`) measured"
        " right after it, in the same round, under the same gunicorn config and worker count."
        f" wrk: {meta['connections']} connections, {meta['threads']} threads,"
        f" {meta['warmup']:g} s warm-up per server, then {meta['rounds']} rounds of"
        f" {meta['duration']:g} s for the app and {meta['duration']:g} s for hello;"
        " figures are medians over the rounds. Non-2xx and errors add up warm-up and rounds.",
        "",
        "## Targets",
        "",
    ]
    out += _table(["target", "bar", "measured", "result"], [list(r) for r in targets(results)])
    out.append("")
    for size, data in sorted(_sizes(results).items()):
        out += _size_section(size, data)
    out += kept_sections(previous)
    out += _environment(meta)
    return "\n".join(out) + "\n"


def _size_section(size: int, data: dict) -> list[str]:
    db = data["database"]
    how = "reused" if db.get("reused") else f"loaded in {db.get('load_seconds')} s"
    paths = data.get("paths", {})
    out = [
        f"## {size:,} items",
        "",
        f"Database `{db['database']}`: {size:,} items in {db.get('categories')} categories,"
        f" {db.get('users')} users ({how}, {db.get('loaded_at')})."
        f" Largest category `{paths.get('largest_category')}` holds"
        f" {_num(paths.get('largest_category_items'))} items; its deep page starts after item"
        f" {_num(paths.get('deep_position'))}. Item and API item requests rotate over"
        f" {paths.get('sampled_items')} items drawn across the catalog.",
        "",
    ]
    header = [
        "endpoint",
        "path",
        "req/s",
        "hello req/s",
        "ratio",
        "ratio over rounds",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "queries/request",
        "worker CPU ms/request (hello)",
        "worker RSS MB before → after",
    ]
    rows, notes = [], []
    endpoints = data.get("endpoints", {})
    for key in [k for k in ORDER if k in endpoints] + [k for k in endpoints if k not in ORDER]:
        found = endpoints[key]
        if found.get("status") != "ok":
            rows.append(
                [found.get("title", key), _code(found.get("path")), found["status"]]
                + ["–"] * (len(header) - 3)
            )
            if found.get("note"):
                notes.append(f"- {found.get('title', key)}: {found['status']}: {found['note']}")
            continue
        rows.append(
            [
                found["title"],
                _code(found["path"]),
                _num(found["rps"]),
                _num(found["hello_rps"]),
                _num(found["ratio"], 3),
                _ratio_range(found),
                _num(found["p50_ms"], 1),
                _num(found["p99_ms"], 1),
                found["non_2xx"],
                found["errors"],
                _num(found.get("queries")),
                _cpu(found),
                f"{_num(found['rss_before_mb'], 1)} → {_num(found['rss_after_mb'], 1)}",
            ]
        )
        if found.get("queries_note"):
            notes.append(f"- {found['title']}: queries unknown: {found['queries_note']}")
    out += _table(header, rows)
    out.append("")
    out += _profiles(endpoints)
    out += _catalog_json(data.get("catalog_json"))
    if data.get("queries_note"):
        notes.append(f"- queries: {data['queries_note']}")
    if notes:
        out += ["Notes:", "", *notes, ""]
    return out


def _profiles(endpoints: dict) -> list[str]:
    profiled = {k: e for k, e in endpoints.items() if e.get("profile")}
    if not profiled:
        return []
    phases = [name for name, _ in next(iter(profiled.values()))["profile"]["phases"]]
    rows = []
    for found in profiled.values():
        profile = found["profile"]
        shares = dict(profile["phases"])
        hottest = ", ".join(f"{name} {pct}%" for name, pct in profile["self_by_function"][:3])
        rows.append(
            [found["title"], profile["samples"]]
            + [f"{shares.get(name, 0)}%" for name in phases]
            + [hottest]
        )
    legend = "; ".join(f"*{name}*: {profiling.PHASE_NOTES.get(name, '')}" for name in phases)
    return [
        "Where the app's workers spend their time under the same load (py-spy, share of"
        f" non-idle samples; a phase includes what it calls). {legend}.",
        "",
        *_table(["endpoint", "samples", *phases, "hottest functions (self time)"], rows),
        "",
    ]


def _catalog_json(found: dict | None) -> list[str]:
    if found is None:
        return []
    out = [
        "`/catalog.json`, timed as whole downloads (one warm-up, then one per round, in turn):",
        "",
    ]
    if found.get("status") != "ok":
        return [*out, f"{found['status']}: {found.get('note', '')}", ""]
    rows = []
    for side in ("app", "naive"):
        data = found.get(side)
        if not data:
            continue
        rows.append(
            [
                "Catalog" if side == "app" else "naive (`bench/naive_catalog_json.py`)",
                data["downloads"],
                _num(data["median_seconds"], 3),
                _num((data["bytes"] or 0) / 1e6, 1),
                _num((data["bytes"] or 0) / 1e6 / data["median_seconds"], 1)
                if data["median_seconds"]
                else "–",
                data["non_2xx"],
                data["errors"],
                _num(found.get("queries")) if side == "app" else "–",
                _num(data["rss_before_mb"], 1),
                _num(data["peak_growth_mb"], 1)
                + ("" if data["peak_reset"] else " (peak since start)"),
            ]
        )
    out += _table(
        [
            "server",
            "downloads",
            "median s",
            "MB",
            "MB/s",
            "non-2xx",
            "errors",
            "queries",
            "worker RSS MB before",
            "worker peak RSS growth MB",
        ],
        rows,
    )
    out.append("")
    if found.get("speedup"):
        out += [f"Catalog downloads {found['speedup']:.2f}× faster than the naive version.", ""]
    for side in ("app", "naive"):
        if (found.get(side) or {}).get("error"):
            out += [f"{'Catalog' if side == 'app' else 'Naive'}: {found[side]['error']}.", ""]
    if found.get("note"):
        out += [f"Note: {found['note']}.", ""]
    return out


def _environment(meta: dict) -> list[str]:
    gunicorn = meta.get("gunicorn", {})
    packages = ", ".join(f"{k} {v}" for k, v in meta.get("packages", {}).items())
    return [
        "## Environment",
        "",
        f"- Date: {meta['date']}; commit `{meta['commit']}`",
        f"- Machine: {meta['cores']} cores ({meta['cpu'] or 'unknown CPU'}), {meta['memory']} RAM,"
        f" {meta['os']}; wrk and PostgreSQL run on the same machine"
        + (
            f"; load average (1, 5, 15 min) {meta['load_average_start']} at the start,"
            f" {meta.get('load_average_end', '?')} at the end"
            if "load_average_start" in meta
            else ""
        ),
        f"- PostgreSQL {meta['postgresql']}",
        f"- Python {meta['python']}; {packages}",
        f"- gunicorn config: {gunicorn.get('config', '?')}; workers {gunicorn.get('workers', '?')}"
        f" per server (WEB_CONCURRENCY={meta['workers']}, {gunicorn.get('workers_running', '?')}"
        f" running), worker class {gunicorn.get('worker_class', '?')},"
        f" threads {gunicorn.get('threads', '?')}, timeout {gunicorn.get('timeout', '?')} s;"
        " the same for the app, hello and the naive app",
        f"- {meta['wrk']}",
        "- Queries per request: counted in-process, on the app built by `create_app()` with the"
        " same database, by a SQLAlchemy `before_cursor_execute` listener over one request made"
        " after a warm-up request (`/catalog.json`: its first request, body read whole)",
        "- Worker CPU per request: user and system time of every worker of the server"
        " (`/proc/<pid>/stat`, all threads) over a round, divided by the requests wrk"
        " completed in it; the median over the rounds, hello's in brackets. The no-op route"
        " (`/bench/noop`, added by `bench/app.py` to the app the benchmark serves, never to"
        " production) runs every hook and extension but no query and no template: the fixed"
        " cost of a request",
        "- Worker RSS: VmRSS of the app's gunicorn workers from `/proc/<pid>/status` (largest"
        " worker) before the warm-up and after the last round; `/catalog.json` peak: VmHWM after"
        " resetting it through `/proc/<pid>/clear_refs`",
        "",
    ]
