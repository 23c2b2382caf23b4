"""The results document, the printed table and the doc page, from made-up numbers."""

from __future__ import annotations

from bench import payloads, report, stats


def document() -> dict:
    cells = {("b", 1, 1): {"rps": 1000.0, "p50_ms": 0.9, "p99_ms": 2.0, "max_ms": 9.0,
                           "errors": 0, "requests": 4000, "repetitions": 3},
             ("c", 1, 1): {"rps": 950.0, "p50_ms": 1.0, "p99_ms": 2.1, "max_ms": 9.5,
                           "errors": 0, "requests": 3800, "repetitions": 3}}  # fmt: skip
    targets = {
        "b": {"label": "(b) bare FastAPI + iris", "available": True},
        "c": {"label": "(c) generated service", "available": True},
        "e": {"label": "(e) BentoML", "available": False, "reason": "could not install"},
    }
    meta = {
        "command": "make bench", "started": "20260101T000000Z", "elapsed_s": 1.0,
        "options": {"warmup": 2.0, "duration": 4.0, "repetitions": 3},
        "machine": {"cores": 2, "cpu_model": "AMD EPYC", "memory_gib": 24, "kernel": "6",
                    "wrk": "wrk 4.1.0", "loadavg_start": ["0.1", "0", "0"],
                    "loadavg_end": ["0.2", "0", "0"]},
    }  # fmt: skip
    runs = [{"target": t, "concurrency": 1, "rows": 1, "rep": rep, "rps": v["rps"]}
            for (t, _, _), v in cells.items() for rep in (1, 2, 3)]  # fmt: skip
    checks = stats.issue_checks(cells, runs, {}, [1])
    return report.results_document(meta, targets, runs, cells, {}, checks, [])


def test_ratios_are_computed_in_the_same_document() -> None:
    doc = document()
    (cb,) = [r for r in doc["ratios"] if r["ratio"] == "c/b"]
    assert cb["value"] == 0.95


def test_text_table_lists_cells_ratios_and_unavailable_targets() -> None:
    text = report.text_table(document())
    assert "(c) generated service" in text
    assert "c/b      rows=1   c=1   0.95" in text
    assert "(e) BentoML: not available: could not install" in text


def test_markdown_has_command_machine_table_plot_and_checks(tmp_path) -> None:
    page = report.markdown(document(), tmp_path / "performance.png", "Provisional.")
    assert "`make bench`" in page
    assert "2 cores, AMD EPYC" in page
    assert "| (c) generated service | 1 | 1 | 950 |" in page
    assert "![throughput and p99 per target and concurrency](performance.png)" in page
    assert "**PASS** c/b >= 0.90" in page
    assert "> Provisional." in page


def test_payloads_have_the_same_rows_in_each_shape() -> None:
    import json

    oip = json.loads(payloads.oip(64))
    bento = json.loads(payloads.bentoml(64))
    assert oip["inputs"][0]["shape"] == [64, 4]
    flat = [v for row in bento["input_data"] for v in row]
    assert oip["inputs"][0]["data"] == flat
    heavy = json.loads(payloads.oip(2, features=payloads.HEAVY_FEATURES))
    assert len(heavy["inputs"][0]["data"]) == 40


def test_crosscheck_section_shows_both_generators() -> None:
    doc = document()
    doc["crosscheck"] = {
        "target": "c",
        "concurrency": 8,
        "conformance": {"throughput_rps": 800.0, "p50_ms": 9.0, "p99_ms": 20.0, "max_ms": 30.0},
        "wrk": {"rps": 1000.0, "p50_ms": 7.5, "p99_ms": 10.0, "max_ms": 12.0},
        "p50_ratio": 1.2,
        "p99_ratio": 2.0,
    }
    page = report.markdown(doc, None, "")
    assert "p50 x1.20 and p99 x2.00 of wrk's" in page
    assert "| modelrail-conformance (keep-alive client) | 800 | 9.00 | 20.00 | 30.0 |" in page
    assert "errs on the strict side" in page
    doc["crosscheck"]["p99_ratio"] = 0.5
    assert "wrk saw the longer tail" in report.markdown(doc, None, "")


def test_cpu_per_request_column_is_shown_when_measured() -> None:
    doc = document()
    doc["cells"][0]["cpu_us_per_req"] = 812.4
    assert "| 812 |" in report.markdown(doc, None, "")


def test_the_lightgbm_group_has_its_ratios_and_check() -> None:
    doc = document()
    lgbm = {("b-lgbm", 8, 1): (2000.0, 5.0), ("c-lgbm", 8, 1): (1800.0, 5.5),
            ("d-lgbm", 8, 1): (500.0, 20.0)}  # fmt: skip
    cells = {key: {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2,
                   "errors": 0, "requests": int(rps), "repetitions": 3}
             for key, (rps, p99) in lgbm.items()}  # fmt: skip
    runs = [{"target": t, "concurrency": c, "rows": n, "rep": rep, "rps": v["rps"]}
            for (t, c, n), v in cells.items() for rep in (1, 2, 3)]  # fmt: skip
    checks = stats.issue_checks(cells, runs, {}, [8])
    doc = report.results_document(doc["meta"], doc["targets"], runs, cells, {}, checks, [])
    by = {(r["ratio"], r["concurrency"]): r["value"] for r in doc["ratios"]}
    assert by["lgbm c/b", 8] == 0.9
    assert by["lgbm c/d", 8] == 3.6
    assert "lgbm c/d rows=1   c=8   3.60" in report.text_table(doc)
    page = report.markdown(doc, None, "")
    assert "| rows | conc | c/b | c/d | c/d0 | c/e | lgbm c/b | lgbm c/d |" in page
    assert "**PASS** LightGBM c/d >= 3 at c=8 with lower p99" in page
