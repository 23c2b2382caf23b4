"""What an image holds, read from ``docker history`` and ``du`` (no docker needed)."""

from __future__ import annotations

from bench import containers

HISTORY = (
    '0\tCMD ["python" "-m" "churn_service"]\n'
    "187000000\t/bin/sh -c #(nop) COPY dir:" + "ab" * 32 + " in /opt/venv \n"
    "12000\tCOPY artifacts/model.skops artifacts/metadata.json /app/artifacts/ # buildkit\n"
    "missing\tsomething docker could not size\n"
    "74000000\t/bin/sh -c apt-get update && apt-get install -y python3 " + "x" * 200 + "\n"
    "123000000\t\n"
)


def test_layers_with_bytes_come_largest_first_with_their_command_shortened() -> None:
    layers = containers.parse_history(HISTORY)
    assert [layer["bytes"] for layer in layers] == [187_000_000, 123_000_000, 74_000_000, 12_000]
    assert layers[0]["created_by"] == "COPY dir:abababab in /opt/venv"
    assert layers[1]["created_by"] == containers.BASE_LAYER
    assert str(layers[2]["created_by"]).startswith("apt-get update && apt-get install")
    assert len(str(layers[2]["created_by"])) == containers.CREATED_BY_CHARS
    assert str(layers[2]["created_by"]).endswith("...")


def test_du_lines_become_names_and_bytes_largest_first() -> None:
    text = (
        "2048\t/opt/venv/lib/python3.11/site-packages/numpy.libs\n"
        "40960\t/opt/venv/lib/python3.11/site-packages/pyarrow\n"
        "du: cannot access 'x': No such file or directory\n"
        "512\t/opt/venv/lib/python3.11/site-packages/orjson/\n"
    )
    assert containers.parse_du(text) == [
        {"name": "pyarrow", "bytes": 40960 * 1024},
        {"name": "numpy.libs", "bytes": 2048 * 1024},
        {"name": "orjson", "bytes": 512 * 1024},
    ]
