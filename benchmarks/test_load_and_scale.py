"""The HTTP load and scale benchmarks, run end to end but briefly, so a broken one fails CI. Their figures come from
their own commands (README, Development); these runs are too short to mean anything about speed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from benchmarks import density, scale, stuck
from benchmarks.http import load

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8080/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.01ms    1.20ms  21.30ms   90.00%
    Req/Sec     5.20k   300.00     5.60k    70.00%
  Latency Distribution
     50%  812.00us
     75%    3.10ms
     90%    4.00ms
     99%    1.20s
  5180 requests in 1.00s, 0.90MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   5175.43
Transfer/sec:      0.90MB
"""


def test_wrk_output_is_parsed_with_units_and_failures() -> None:
    measure = load.parse_wrk(WRK_OUTPUT)
    assert measure == load.Measure(rps=5175.43, p50_ms=0.812, p99_ms=1200.0, requests=5180, errors=7)


def test_ratios_and_targets_compare_each_row_with_the_references_at_its_concurrency() -> None:
    rows = [
        {"name": "wws javascript instance", "server": "wws", "language": "javascript", "isolation": "instance",
         "concurrency": 16, "rps": 450.0, "errors": 0},
        {"name": "wws native request", "server": "wws", "language": "native", "isolation": "request",
         "concurrency": 16, "rps": 700.0, "errors": 0},
        {"name": "workerd", "server": "workerd", "language": "javascript", "isolation": "-", "concurrency": 16,
         "rps": 1000.0, "errors": 0},
        {"name": "ceiling", "server": "ceiling", "language": "-", "isolation": "-", "concurrency": 16,
         "rps": 1000.0, "errors": 0},
    ]  # fmt: skip
    load.add_ratios(rows)
    checks = {(check["target"], check["against"]): check for check in load.check_targets(rows)}
    assert rows[0]["vs_workerd"] == 0.45
    assert rows[1]["vs_ceiling"] == 0.7
    assert not checks[("wws javascript instance", "workerd")]["met"]  # warm JS must reach 0.5x workerd
    assert not checks[("wws javascript instance", "ceiling")]["met"]  # and 0.5x the ceiling
    assert checks[("wws native request", "workerd")]["met"]  # 0.7x: over its 0.5x
    assert ("wws native request", "ceiling") not in checks  # the ceiling is checked in instance isolation only


def test_http_load_benchmark_runs_every_target(tmp_path: Path) -> None:
    output = tmp_path / "http.json"
    arguments = ["--duration", "1", "--concurrency", "4", "--rounds", "2", "--workers", "1", "--output", str(output)]
    result = CliRunner().invoke(load.main, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text())
    assert {row["name"] for row in report["rows"]} == {target.name for target in load.TARGETS}
    for row in report["rows"]:
        assert row["errors"] == 0, row
        assert row["rps"] > 0
        assert len(row["rounds_rps"]) == 2, "every target measured in each round"
        assert row["rps"] == max(row["rounds_rps"]), "each target keeps its best round"
        assert row["p99_ms"] >= row["p50_ms"] > 0
    assert (
        len(report["targets"]) == 6 + 3
    )  # every wws row against workerd, the three in instance isolation against the ceiling
    assert "x workerd" in result.output


def test_scale_benchmark_starts_projects_and_serves_every_worker(tmp_path: Path) -> None:
    output = tmp_path / "scale.json"
    arguments = ["--workers", "1,6", "--requests", "24", "--concurrency", "2", "--output", str(output)]
    result = CliRunner().invoke(scale.main, arguments)
    assert result.exit_code == 0, result.output
    rows = json.loads(output.read_text())["rows"]
    assert [row["workers"] for row in rows] == [1, 6]
    for row in rows:
        assert row["failures"] == 0
        assert 0 < row["startup_s"] < 60
        assert row["rss_peak_mib"] >= row["rss_after_mib"] > 0


def test_density_benchmark_measures_memory_as_workers_load_and_idle(tmp_path: Path) -> None:
    output = tmp_path / "density.json"
    arguments = ["--js", "4", "--py", "2", "--idle-ms", "2000", "--output", str(output)]
    result = CliRunner().invoke(density.main, arguments)
    assert result.exit_code == 0, result.output
    row = json.loads(output.read_text())["row"]
    assert (row["javascript_workers"], row["python_workers"]) == (4, 2)
    assert 0 < row["rss_start_mib"] < row["rss_after_javascript_mib"] <= row["rss_after_python_mib"]
    assert row["rss_idle_mib"] < row["rss_after_python_mib"], "idle workers gave memory back"
    assert 0 < row["pss_after_python_mib"] <= row["rss_after_python_mib"]
    assert row["first_javascript_p50_ms"] > 0
    assert row["released_python_p50_ms"] > 0
    assert "RSS after idling" in result.output


def test_density_projects_put_half_the_javascript_and_all_python_workers_in_instance_isolation(tmp_path: Path) -> None:
    routes = density.generate_project(tmp_path, 4, 2)
    assert routes == {
        "javascript": ["/js00/hello0000", "/js00/hello0001", "/js00/hello0002", "/js00/hello0003"],
        "python": ["/py00/hello0000", "/py00/hello0001"],
    }
    warm = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.toml"))
    assert warm == ["js00/hello0001.toml", "js00/hello0003.toml", "py00/hello0000.toml", "py00/hello0001.toml"]


def test_generated_projects_mix_the_languages(tmp_path: Path) -> None:
    module = tmp_path / "hello.wasm"
    module.write_bytes(b"\0asm\1\0\0\0")
    routes = scale.generate_project(tmp_path / "project", 7, module)
    assert routes[:3] == ["/group00/hello0000", "/group00/hello0001", "/group00/hello0002"]
    suffixes = sorted(path.suffix for path in (tmp_path / "project").rglob("hello*"))
    assert suffixes == [".js"] * 3 + [".py"] * 2 + [".wasm"] * 2


def test_stuck_benchmark_measures_hello_beside_stuck_sleepers(tmp_path: Path) -> None:
    output = tmp_path / "stuck.json"
    result = CliRunner().invoke(stuck.main, ["--sleepers", "6", "--seconds", "0.5", "--output", str(output)])
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text())
    assert report["hello_alone"]["requests"] > 0
    assert report["hello_with_sleepers"]["p99_ms"] >= report["hello_with_sleepers"]["p50_ms"] > 0
    assert set(report["sleeper_statuses"]) <= {"503", "504"}  # JSON keys
    assert set(report["server_504_late_s"]) == set(stuck.SLEEPERS)
    assert "ok   sleepers' 504" in result.output  # each answered by its deadline plus a second
