"""Run the benchmark: per catalog size, load, serve, measure against hello, and report."""

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg

from bench import endpoints as endpoints_module
from bench import load, measure, naive_catalog_json, profiling, report, wrk
from bench.endpoints import Endpoint
from bench.servers import PRODUCTION_CONFIG, Server, get

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
RUNS = ROOT / "bench" / ".runs"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse_args(argv=None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Catalog against a bare Flask app under the same gunicorn config.",
    )
    parser.add_argument(
        "--sizes",
        default=_env("SIZES", "1000,100000,1000000"),
        help="comma-separated catalog sizes in items (default: 1000,100000,1000000)",
    )
    parser.add_argument(
        "--database-url",
        default=_env("BENCH_DATABASE_URL", load.DEFAULT_SERVER_URL),
        help="PostgreSQL server to load the benchmark databases on",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env("BENCH_WORKERS", str(2 * cores))),
        help="gunicorn workers of every server, passed as WEB_CONCURRENCY (default: 2 x cores)",
    )
    parser.add_argument("--connections", type=int, default=int(_env("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--threads", type=int, default=int(_env("BENCH_THREADS", str(cores))))
    parser.add_argument(
        "--duration", type=float, default=float(_env("BENCH_DURATION", "10")), help="s per round"
    )
    parser.add_argument("--rounds", type=int, default=int(_env("BENCH_ROUNDS", "3")))
    parser.add_argument(
        "--warmup", type=float, default=float(_env("BENCH_WARMUP", "3")), help="s per server"
    )
    parser.add_argument(
        "--only",
        default=_env("BENCH_ONLY", ""),
        help="comma-separated endpoint keys to run (default: all), e.g. home,item,catalog_json",
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=int(_env("BENCH_NAIVE_MAX", "100000")),
        help="largest size the naive /catalog.json is run at (it holds everything in memory)",
    )
    parser.add_argument(
        "--download-budget",
        type=float,
        default=float(_env("BENCH_DOWNLOAD_BUDGET", "60")),
        help="s: a /catalog.json download slower than this is not repeated",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=float(_env("BENCH_DRAIN", "180")),
        help="s to wait, after each endpoint, for requests still queued to finish",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=_env("BENCH_PROFILE", "") not in ("", "0"),
        help="after each endpoint's rounds, sample the app's workers with py-spy under load",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="only write the report again from a run's results.json (in bench/.runs/)",
    )
    parser.add_argument("--output", type=Path, default=Path(_env("BENCH_OUTPUT", str(RESULTS))))
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes takes comma-separated integers, not {args.sizes!r}")
    if not args.sizes or min(args.sizes) < len(load.CATEGORIES):
        parser.error(f"every size must be at least {len(load.CATEGORIES)} items")
    if min(args.workers, args.connections, args.threads, args.rounds) < 1:
        parser.error("workers, connections, threads and rounds must be at least 1")
    args.only = {k.strip() for k in args.only.split(",") if k.strip()}
    return args


def _terminate(signum, frame):
    # Unwind through every ``finally`` so that the servers started are stopped.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    previous = args.output.read_text() if args.output.exists() else ""
    if args.render:
        args.output.write_text(report.render(json.loads(args.render.read_text()), previous))
        log(f"Wrote {args.output} from {args.render}")
        return 0
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = RUNS / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    wrk.ensure_installed(log)
    results = {"meta": environment(args), "sizes": {}, "failure": None}
    log(
        f"Benchmark run {stamp}: sizes {', '.join(f'{s:,}' for s in args.sizes)}; logs in {run_dir}"
    )
    started = time.monotonic()
    try:
        for size in args.sizes:
            results["sizes"][str(size)] = bench_size(size, args, run_dir, results["meta"])
            (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        results["failure"] = "".join(traceback.format_exception_only(exc)).strip()
        log(traceback.format_exc())
    results["meta"]["duration_minutes"] = round((time.monotonic() - started) / 60, 1)
    results["meta"]["load_average_end"] = _load_average()
    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    text = report.render(results, previous)
    args.output.write_text(text)
    print(text)
    log(f"Wrote {args.output}")
    return 1 if results["failure"] else 0


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_size(size: int, args, run_dir: Path, meta: dict) -> dict:
    """Load the catalog of ``size`` items, serve it beside hello, and measure every endpoint."""
    facts = load.ensure_loaded(args.database_url, size, log=log)
    url = facts["url"]
    endpoints, path_facts = endpoints_module.build(url)
    label = load.size_label(size)
    secret = secrets.token_hex(32)
    outcome = {"database": {k: v for k, v in facts.items() if k != "url"}, "paths": path_facts}
    with ExitStack() as stack:
        app = Server(
            f"app-{label}",
            # Catalog's app with the no-op route (bench/app.py), as production builds it.
            "bench.app:create_app()",
            {"DATABASE_URL": url, "SECRET_KEY": secret},
            args.workers,
            run_dir,
            ready="/healthz",
        )
        hello = Server(f"hello-{label}", "bench.hello:app", {}, args.workers, run_dir, ready="/")
        servers = [app, hello]
        naive = None
        if size <= args.naive_max and _wanted(args, "catalog_json"):
            naive = Server(
                f"naive-{label}",
                "bench.naive_catalog_json:create_app()",
                {"DATABASE_URL": url, "SECRET_KEY": secret},
                args.workers,
                run_dir,
                ready="/healthz",
            )
            servers.append(naive)
        for server in servers:
            stack.callback(server.stop)
            server.start()
            log(f"{server.name}: {len(server.worker_pids())} workers on port {server.port}")
        if "gunicorn" not in meta:
            meta["gunicorn"] = _gunicorn_settings(app)

        counter = None
        try:
            counter = measure.QueryCounter(url, secret)
            stack.callback(counter.close)
        except Exception as exc:  # the run goes on; queries show as unknown
            outcome["queries_note"] = f"in-process app failed to start: {exc}"

        unavailable = {}
        for key in endpoints_module.CONDITIONALS:
            conditional, note = find_conditional(app, endpoints, key)
            if conditional is not None:
                endpoints.append(conditional)
            else:
                unavailable[key] = note
        measured = {}
        for endpoint in endpoints:
            if not _wanted(args, endpoint.key):
                continue
            try:
                measured[endpoint.key] = bench_endpoint(
                    endpoint, app, hello, counter, args, run_dir
                )
            except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
                # One endpoint's failure (a timeout, wrk giving up) is a result, not the end.
                note = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log(f"{endpoint.key}: failed: {note}")
                measured[endpoint.key] = {
                    "title": endpoint.title,
                    "path": endpoint.shown,
                    "status": "failed",
                    "note": note,
                }
            # Slow requests still queued from this endpoint must not spill into the next.
            if not app.wait_idle(args.drain):
                log(f"{app.name}: still busy {args.drain:g} s after {endpoint.key}")
        for key, note in unavailable.items():
            if _wanted(args, key):
                measured[key] = {
                    "title": endpoints_module.CONDITIONALS[key][0],
                    "path": "",
                    "status": "not available",
                    "note": note,
                }
        outcome["endpoints"] = measured
        if _wanted(args, "catalog_json"):
            outcome["catalog_json"] = bench_catalog_json(app, naive, counter, args, size)
    return outcome


def _wanted(args, key: str) -> bool:
    return not args.only or key in args.only


def find_conditional(
    app: Server, endpoints: list[Endpoint], key: str = "conditional"
) -> tuple[Endpoint | None, str]:
    """Return the row ``key``'s endpoint, whose ETag makes the app answer 304, or None and
    why not."""
    notes = []
    for path in endpoints_module.conditional_candidates(endpoints, key):
        status, headers, _ = get(app.port, path)
        etag = headers.get("etag")
        if status != 200 or not etag:
            notes.append(f"{path}: HTTP {status}, {'ETag ' + etag if etag else 'no ETag'}")
            continue
        again, _, _ = get(app.port, path, {"If-None-Match": etag})
        if again == 304:
            return Endpoint(
                key,
                endpoints_module.CONDITIONALS[key][0],
                [path],
                headers={"If-None-Match": etag},
                expect=304,
            ), ""
        notes.append(f"{path}: ETag given, but If-None-Match answered {again}")
    return None, "; ".join(notes)


def bench_endpoint(endpoint: Endpoint, app: Server, hello: Server, counter, args, run_dir) -> dict:
    """Measure one endpoint: a warm-up, then rounds of app and hello, back to back."""
    result = {"title": endpoint.title, "path": endpoint.shown}
    started = time.monotonic()
    try:
        status, _, body = get(app.port, endpoint.path, endpoint.headers, timeout=60)
    except TimeoutError as exc:
        raise RuntimeError(f"no answer to {endpoint.path} within 60 s") from exc
    probe_seconds = time.monotonic() - started
    if status != endpoint.expect:
        result["status"] = "not available" if status == 404 else "failed"
        result["note"] = f"HTTP {status} (expected {endpoint.expect})"
        log(f"{endpoint.key}: {result['status']}: {result['note']}")
        return result
    result["bytes"] = len(body)
    if counter is not None:
        try:
            # A slow endpoint gets no warm-up request: first-request costs are lost in it.
            result["query_status"], result["queries"] = counter.count(
                endpoint.path, endpoint.headers, warm=probe_seconds < 1
            )
        except Exception as exc:  # reported, not fatal
            result["queries_note"] = f"in-process request failed: {exc}"
    script = None
    if len(endpoint.paths) > 1:
        script = wrk.rotation_script(endpoint.paths, run_dir, endpoint.key)

    def load_app(seconds):
        return _with_cpu(app, lambda: _load_app(seconds))

    def load_hello(seconds):
        return _with_cpu(hello, lambda: _load_hello(seconds))

    def _load_app(seconds):
        return wrk.run(
            app.port,
            endpoint.path,
            seconds=seconds,
            connections=args.connections,
            threads=args.threads,
            headers=endpoint.headers,
            script=script,
            log=run_dir / f"wrk-{app.name}-{endpoint.key}.txt",
        )

    def _load_hello(seconds):
        return wrk.run(
            hello.port,
            "/",
            seconds=seconds,
            connections=args.connections,
            threads=args.threads,
            log=run_dir / f"wrk-{hello.name}-{endpoint.key}.txt",
        )

    result["rss_before_mb"] = app.max_rss_mb()
    warm_app, warm_hello = load_app(args.warmup), load_hello(args.warmup)
    rounds = []
    for n in range(args.rounds):
        measured_app = load_app(args.duration)
        measured_hello = load_hello(args.duration)
        rounds.append({"app": measured_app.as_dict(), "hello": measured_hello.as_dict()})
        log(
            f"{endpoint.key} round {n + 1}: {measured_app.rps:,.0f} req/s,"
            f" hello {measured_hello.rps:,.0f} req/s,"
            f" ratio {measured_app.rps / max(measured_hello.rps, 0.001):.3f}"
        )
    result["rss_after_mb"] = app.max_rss_mb()
    result["status"] = "ok"
    result["rounds"] = rounds
    result.update(_summarise(rounds, warm_app, warm_hello))
    if args.profile:
        # An extra, unmeasured run: sampling costs the workers a little time.
        raw = run_dir / f"profile-{app.name}-{endpoint.key}.txt"
        sampler = profiling.record(app.process.pid, args.duration, raw)
        if sampler is None:
            result["profile_note"] = "py-spy is not installed (it is in the dev extra)"
        else:
            load_app(args.duration)
            sampler.wait(timeout=args.duration + 60)
            result["profile"] = profiling.summarise(raw)
    return result


def _with_cpu(server: Server, load) -> wrk.Result:
    """Run ``load`` against ``server``; add its workers' CPU milliseconds per request."""
    before = server.cpu_seconds()
    result = load()
    after = server.cpu_seconds()
    # Only workers alive all along count: a restarted worker's CPU is not comparable.
    used = sum(after[pid] - before[pid] for pid in after.keys() & before.keys())
    if result.requests and after.keys() & before.keys():
        result.cpu_ms = round(1000 * used / result.requests, 3)
    return result


def _summarise(rounds: list[dict], warm_app, warm_hello) -> dict:
    def median(side, key):
        values = [r[side][key] for r in rounds if r[side].get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    ratios = [r["app"]["rps"] / r["hello"]["rps"] for r in rounds if r["hello"]["rps"]]
    return {
        "rps": median("app", "rps"),
        "hello_rps": median("hello", "rps"),
        "ratio": round(statistics.median(ratios), 4) if ratios else None,
        "p50_ms": median("app", "p50"),
        "p99_ms": median("app", "p99"),
        "hello_p99_ms": median("hello", "p99"),
        "cpu_ms": median("app", "cpu_ms"),
        "hello_cpu_ms": median("hello", "cpu_ms"),
        "non_2xx": warm_app.non_2xx + sum(r["app"]["non_2xx"] for r in rounds),
        "errors": warm_app.errors + sum(r["app"]["errors"] for r in rounds),
        "hello_non_2xx": warm_hello.non_2xx + sum(r["hello"]["non_2xx"] for r in rounds),
        "hello_errors": warm_hello.errors + sum(r["hello"]["errors"] for r in rounds),
    }


def bench_catalog_json(app: Server, naive: Server | None, counter, args, size: int) -> dict:
    """Time whole downloads of /catalog.json from the app and from the naive version."""
    path = "/catalog.json"
    targets = {"app": (app, path)}
    if naive is not None:
        targets["naive"] = (naive, naive_catalog_json.PATH)
    # The app's warm-up download doubles as the probe, so no request runs before the
    # workers' memory is read.
    outcome = measure.download_rounds(targets, args.rounds, args.download_budget)
    status = outcome["app"]["first_status"]
    if status != 200:
        state = "not available" if status == 404 else "failed"
        note = outcome["app"]["error"] or f"HTTP {status} (expected 200)"
        log(f"catalog_json: {state}: {note}")
        return {"status": state, "note": note, "app": outcome["app"]}
    outcome["status"] = "ok"
    if naive is None:
        outcome["note"] = f"naive version not run above {args.naive_max:,} items"
    if counter is not None:
        try:
            outcome["query_status"], outcome["queries"] = counter.count(path, warm=False)
        except Exception as exc:  # reported, not fatal
            outcome["queries_note"] = f"in-process request failed: {exc}"
    app_time = outcome["app"]["median_seconds"]
    naive_time = outcome.get("naive", {}).get("median_seconds")
    if app_time and naive_time:
        outcome["speedup"] = round(naive_time / app_time, 2)
    elif app_time and outcome.get("naive", {}).get("broke_after_seconds"):
        # The naive download was cut off (gunicorn's timeout): it would have taken longer.
        outcome["speedup_at_least"] = round(outcome["naive"]["broke_after_seconds"] / app_time, 2)
    log(
        f"catalog_json at {size:,}: app {app_time} s"
        + (f", naive {naive_time} s" if naive_time else "")
        + f", app worker peak growth {outcome['app']['peak_growth_mb']} MB"
    )
    return outcome


def _gunicorn_settings(app: Server) -> dict:
    settings = app.print_config()
    keep = ("workers", "worker_class", "threads", "timeout", "keepalive", "preload_app")
    shown = {k: settings[k] for k in keep if k in settings}
    shown["workers_running"] = len(app.worker_pids())
    shown["config"] = (
        str(PRODUCTION_CONFIG.relative_to(ROOT))
        if PRODUCTION_CONFIG.exists()
        else "none (gunicorn.conf.py does not exist yet: gunicorn's defaults)"
    )
    return shown


def _load_average() -> str:
    # Other work on the machine slows app and hello alike, but widens the spread of rounds.
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def environment(args) -> dict:
    """Describe the machine, the software and the settings of this run."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory = f"{int(total) / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    with psycopg.connect(load.with_database(args.database_url, "postgres")) as conn:
        postgresql = conn.execute("SHOW server_version").fetchone()[0]
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    packages = {}
    for name in ("Flask", "SQLAlchemy", "psycopg", "gunicorn", "Jinja2", "Werkzeug"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_start": _load_average(),
        "commit": commit or "unknown",
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgresql,
        "packages": packages,
        "wrk": wrk.version(),
        "workers": args.workers,
        "connections": args.connections,
        "threads": min(args.threads, args.connections),
        "duration": args.duration,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "sizes": args.sizes,
        "only": sorted(args.only),
        "profile": args.profile,
        "command": "make bench SIZES=" + ",".join(str(s) for s in args.sizes),
    }
