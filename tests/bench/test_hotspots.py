"""bench.hotspots: py-spy's collapsed stacks grouped by component."""

from __future__ import annotations

from bench import hotspots

MAIN = "<module> (svc/__main__.py:5);run (svc/server.py:96);Handle._run (asyncio/events.py:80)"
COLLAPSED = "\n".join(
    [
        f"{MAIN};infer (svc/routes.py:87);predict (svc/frameworks/sklearn.py:124);"
        "validate_data (sklearn/utils/validation.py:3041) 30",
        f"{MAIN};_record (svc/middleware.py:106);info (logging/__init__.py:1489);"
        "dumps (json/__init__.py:231) 10",
        f"{MAIN};parse (svc/protocol.py:60);_to_array (svc/protocol.py:207) 5",
        f"{MAIN};H11Protocol.handle_events (uvicorn/protocols/http/h11_impl.py:237) 5",
        "Thread._bootstrap (threading.py:1002);Condition.wait (threading.py:327) 50",
        "EpollSelector.select (selectors.py:468) 50",
    ]
)


def test_package_is_read_from_the_main_frame() -> None:
    assert hotspots.guess_package(COLLAPSED) == "svc"


def test_innermost_known_frame_owns_the_sample() -> None:
    parts = hotspots.breakdown(COLLAPSED)
    assert parts["scikit-learn"] == 30
    assert parts["logging"] == 10  # json called by logging counts as logging
    assert parts["service: protocol"] == 5
    assert parts["uvicorn + h11"] == 5
    assert parts["idle"] == 100


# The same samples from a service generated on modelrail-runtime (template 0.2 on): its
# package only calls `serve`, the serving code is the runtime's, in site-packages.
RUNTIME_MAIN = (
    "<module> (svc/__main__.py:18);main (svc/__main__.py:14);"
    "serve (modelrail_runtime/server.py:160);Handle._run (asyncio/events.py:80)"
)
RUNTIME_COLLAPSED = "\n".join(
    [
        f"{RUNTIME_MAIN};infer (modelrail_runtime/dataplane.py:120);"
        "predict (modelrail_runtime/frameworks/sklearn.py:160);"
        "validate_data (sklearn/utils/validation.py:3041) 30",
        f"{RUNTIME_MAIN};__call__ (modelrail_runtime/http/middleware.py:130);"
        "access (modelrail_runtime/logs.py:80);dumps (json/__init__.py:231) 10",
        f"{RUNTIME_MAIN};parse_infer_request (modelrail_runtime/oip/codec.py:60);"
        "_to_array (modelrail_runtime/oip/codec.py:190) 5",
        f"{RUNTIME_MAIN};__call__ (modelrail_runtime/http/middleware.py:140) 4",
        f"{RUNTIME_MAIN};submit (modelrail_runtime/execution/runners.py:50) 3",
    ]
)


def test_the_runtime_is_the_service() -> None:
    assert hotspots.guess_package(RUNTIME_COLLAPSED) == "svc"
    parts = hotspots.breakdown(RUNTIME_COLLAPSED)
    assert parts["scikit-learn"] == 30
    assert parts["logging"] == 10
    assert parts["service: protocol"] == 5
    assert parts["service: middleware"] == 4
    assert parts["service: other"] == 3
    assert parts["other"] == 0


def test_render_leaves_idle_out_of_the_shares() -> None:
    text = hotspots.render(COLLAPSED, top=3)
    assert "50 busy samples" in text
    assert "scikit-learn                60.0%" in text


def test_servers_run_with_python_m_are_not_the_service() -> None:
    collapsed = "<module> (uvicorn/__main__.py:4);run (uvicorn/main.py:1) 3"
    assert hotspots.guess_package(collapsed) == "app"


def test_uvloop_native_leaf_is_left_out_and_said() -> None:
    collapsed = (
        COLLAPSED + "\n" + MAIN.split(";Handle")[0] + ";Runner.run (asyncio/runners.py:118) 7"
    )
    parts = hotspots.breakdown(collapsed)
    assert parts["native loop"] == 7
    assert "7 inside uvloop's native loop" in hotspots.render(collapsed)


def test_onnxruntime_owns_the_samples_of_a_compiled_model() -> None:
    collapsed = (
        f"{RUNTIME_MAIN};predict (modelrail_runtime/tabular/predictor.py:44);"
        "scores (modelrail_runtime/frameworks/onnx_tabular.py:140);"
        "InferenceSession.run (onnxruntime/capi/onnxruntime_inference_collection.py:266) 40"
    )
    assert hotspots.breakdown(collapsed)["onnxruntime"] == 40
