"""The results document, the printed table and the doc page, from made-up numbers."""

from __future__ import annotations

from bench import compiled, embedding, payloads, report, stats


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
    assert "c/b              rows=1   c=1   0.95" in text
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
    assert "lgbm c/d         rows=1   c=8   3.60" in report.text_table(doc)
    page = report.markdown(doc, None, "")
    assert (
        "| rows | conc | c/b | c/b' | c/d | c/d0 | c/e | lgbm c/b | lgbm c/b' | lgbm c/d |" in page
    )
    assert "**PASS** LightGBM c/d >= 3 at c=8 with lower p99" in page


def embedding_document() -> dict:
    """A run of the embedding group alone, with made-up numbers."""
    base = document()
    targets = {
        "b-emb": {"label": "(b) FastAPI + sentence-transformers", "group": "embedding",
                  "available": True, "start_to_ready_s": 6.5},
        "c-emb": {"label": "(c) embedding service, batching on", "group": "embedding",
                  "available": True},
        "c-emb-nobatch": {"label": "(c) embedding service, batching off",
                          "group": "embedding", "available": False, "reason": "no render"},
    }  # fmt: skip
    cells = {("b-emb", 32, 1): (30.0, 900.0), ("c-emb", 32, 1): (90.0, 400.0),
             ("b-emb", 1, 1): (35.0, 40.0), ("c-emb", 1, 1): (40.0, 35.0)}  # fmt: skip
    cells = {key: {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2,
                   "errors": 0, "requests": int(rps) * 6, "repetitions": 4,
                   "cpu_us_per_req": 1e6 / rps}
             for key, (rps, p99) in cells.items()}  # fmt: skip
    runs = [{"target": t, "concurrency": c, "rows": n, "rep": rep, "rps": v["rps"]}
            for (t, c, n), v in cells.items() for rep in (1, 2, 3, 4)]  # fmt: skip
    images = {
        "b-emb": {"tag": "modelrail-bench/embedding-baseline:latest",
                  "image_bytes": 2_100_000_000, "cold_start_s": 9.5, "cold_start_infer_s": 9.8},
        "c-emb": {"tag": "modelrail-bench/embedding-service:latest",
                  "image_bytes": 420_000_000, "cold_start_s": 2.5, "cold_start_infer_s": 2.6},
    }  # fmt: skip
    agreement = {"texts": 8, "min_cosine": 0.9999,
                 "targets": {"c-emb": {"min": 0.999998, "cosines": [0.999998, 1.0]}}}  # fmt: skip
    meta = {**base["meta"], "command": "uv run python -m bench --only embedding",
            "started": "20260102T000000Z",
            "options": {**base["meta"]["options"], "embedding_warmup": 2.0,
                        "embedding_duration": 6.0},
            "embedding_libraries": {"b-emb": {"torch": "2.13.0+cpu"},
                                    "c-emb": {"onnxruntime": "1.31.1"}},
            "base_image_bytes": 124_000_000}  # fmt: skip
    checks = embedding.checks(cells, runs, images, agreement)
    doc = report.results_document(meta, targets, runs, cells, images, checks, [])
    doc["embedding_parity"] = agreement
    return doc


def test_the_embedding_group_has_its_own_section() -> None:
    group = embedding_document()
    page = report.markdown(document(), None, "", embedding=group)
    main, section = page.split("## Sentence embeddings (issue 14)")
    assert "sentence-transformers" not in main
    assert "embedding c-emb/b-emb" not in main
    assert "- Command: `uv run python -m bench --only embedding`" in section
    assert "- Started 20260102T000000Z" in section
    assert "2 s warm-up + 3 x 6 s per cell" in section
    assert "- b-emb: torch 2.13.0+cpu." in section
    assert "| (c) embedding service, batching on | 1 | 32 | 90 | 200.00 | 400.00 |" in section
    assert "| rows | conc | emb c/b | emb nobatch/b | emb batch on/off |" in section
    assert "| 1 | 32 | 3.00 | n/a | n/a |" in section
    assert "- (c) embedding service, batching off: no render" in section
    assert "over the first 8 texts" in section
    assert (
        "(at least 0.9999 required; each text's in the results file): c-emb 0.99999800." in section
    )
    assert "| 2100 | 9.50 | 9.80 |" in section
    assert "Image size c-emb/b-emb: 0.20x (0.15x above the 124 MB base image" in section
    assert "b-emb over c-emb (what one free core" in section
    assert "whatever else runs): 1.14 at c=1, 3.00 at c=32." in section
    assert "**PASS** embedding c-emb/b-emb >= 2 at c=32 (batching on): c=32 3.00" in section
    assert "**PASS** embeddings agree" in section


def test_a_run_of_every_group_shows_the_embedding_cells_in_their_section_only() -> None:
    full, group = document(), embedding_document()
    doc = report.results_document(
        group["meta"],
        {**full["targets"], **group["targets"]},
        full["runs"] + group["runs"],
        {(c["target"], c["concurrency"], c["rows"]): c for c in full["cells"] + group["cells"]},
        group["containers"],
        [],
        [],
    )
    main, section = report.markdown(doc, None, "", embedding=doc).split("## Sentence embeddings")
    assert "(c) generated service" in main
    assert "(c) embedding service" not in main
    assert "(c) embedding service, batching on" in section
    # The text table shows every cell and ratio of the run.
    assert "emb c/b          rows=1   c=32  3.00" in report.text_table(doc)


def test_without_an_embedding_run_the_section_says_how_to_make_one() -> None:
    page = report.markdown(document(), None, "")
    assert "Not measured yet: `uv run python -m bench --only embedding`." in page


def issue_15_document() -> dict:
    """A run with (b') and a compiled (c), their answers compared, and (c)'s image read."""
    doc = document()
    targets = {**doc["targets"], "b-onnx": {"label": "(b') bare FastAPI + onnxruntime",
                                            "available": True}}  # fmt: skip
    numbers = {("b", 8, 1): (1000.0, 12.0), ("b-onnx", 8, 1): (5000.0, 3.0),
               ("c", 8, 1): (4600.0, 3.0), ("c", 1, 1): (4000.0, 0.6)}  # fmt: skip
    cells = {key: {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2,
                   "errors": 0, "requests": int(rps), "repetitions": 3,
                   "cpu_us_per_req": 1e6 / rps}
             for key, (rps, p99) in numbers.items()}  # fmt: skip
    runs = [{"target": t, "concurrency": c, "rows": n, "rep": rep, "rps": v["rps"]}
            for (t, c, n), v in cells.items() for rep in (1, 2, 3)]  # fmt: skip
    images = {"c": {"tag": "modelrail-bench/service:latest", "image_bytes": 310_000_000,
                    "cold_start_s": 1.3,
                    "layers": [{"bytes": 180_000_000, "created_by": "COPY /opt/venv /opt/venv"},
                               {"bytes": 20_000, "created_by": "RUN a | b"}],
                    "largest_packages": [{"name": "pyarrow", "bytes": 120_000_000},
                                         {"name": "numpy", "bytes": 30_000_000}]}}  # fmt: skip
    answers = {"rows": 256, "tolerance": 1e-6, "errors": {"c-lgbm": "b-lgbm is not running"},
               "targets": {
                   "c": {"reference": "b", "rows": 256, "max_abs_diff": 5.96e-8,
                         "worst_row": 17, "label_mismatches": 0, "first_mismatch": None,
                         "datatypes": None},
                   "b-onnx": {"reference": "b", "rows": 256, "max_abs_diff": 2.5e-6,
                              "worst_row": 40, "label_mismatches": 1, "first_mismatch": 40,
                              "datatypes": None}}}  # fmt: skip
    checks = stats.issue_checks(cells, runs, images, [1, 8])
    checks += compiled.checks(cells, runs, images, answers, [1, 8])
    meta = {**doc["meta"], "base_image": "modelrail-base:3.11-bookworm",
            "base_image_bytes": 124_000_000}  # fmt: skip
    out = report.results_document(meta, targets, runs, cells, images, checks, [])
    out["agreement"] = answers
    return out


def test_the_targets_of_issue_15_have_their_own_block() -> None:
    page = report.markdown(issue_15_document(), None, "")
    older, newer = page.split("## Targets of issue 15")
    assert "c/b >= 0.90 at every concurrency: c=1 n/a, c=8 4.60" in older
    assert "c/b >= 3 at c=8" not in older
    newer = newer.split("## Same predictions")[0]
    assert "- **PASS** c/b >= 3 at c=8 (the compiled graph against the native framework): " \
           "c=8 4.60" in newer  # fmt: skip
    assert "- **N/A** c/b' >= 0.90 at every concurrency" in newer
    assert "c=1 n/a, c=8 0.92" in newer
    assert "- **FAIL** same predictions as (b)" in newer
    assert "- **PASS** CPU per request at c=1 <= 250 us (c): 250.00 us (limit 250)" in newer
    assert "- **FAIL** cold start to ready <= 1.0 s (c's image, one core): 1.30 s" in newer
    assert "- **FAIL** image size <= 250 MB (c): 310.00 MB (limit 250)" in newer
    assert "keep: heavy model batching" in newer
    assert "| rows | conc | c/b | c/b' |" in page
    assert "| 1 | 8 | 4.60 | 0.92 |" in page


def test_the_compared_answers_show_every_target_and_what_differs() -> None:
    page = report.markdown(issue_15_document(), None, "")
    section = page.split("## Same predictions")[1].split("## ")[0]
    assert "the same 256 fixed rows" in section
    assert "| (c) generated service | (b) bare FastAPI + iris | 256 | 5.96e-08 | 17 | 0 | same |" \
           in section  # fmt: skip
    assert "| 2.50e-06 | 40 | 1 | **differs** |" in section
    assert "- c-lgbm: not compared: b-lgbm is not running" in section


def test_the_image_of_c_is_broken_down_by_layer_and_package() -> None:
    page = report.markdown(issue_15_document(), None, "")
    section = page.split("### What (c)'s image holds")[1]
    assert "(`modelrail-base:3.11-bookworm`) is 124 MB of it" in section
    assert "| `COPY /opt/venv /opt/venv` | 180.0 |" in section
    assert "| `RUN a / b` | 0.0 |" in section  # a pipe would split the table's cell
    assert "| `pyarrow` | 120.0 |" in section
    assert "### What (c)'s image holds" not in report.markdown(document(), None, "")
