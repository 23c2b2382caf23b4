"""Settings come from the environment over the repository's defaults; bad values are refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrail_runtime import Settings, SettingsError
from modelrail_runtime.execution import PredictMode
from modelrail_runtime.oip.codec import RequestLimits


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.model_name == "model"
    assert settings.served_as == "model", "the service is named after its model by default"
    assert settings.model_uri == Path("artifacts")
    assert settings.port == 8080
    assert settings.host == "0.0.0.0"  # noqa: S104
    assert settings.max_body_bytes == 1_048_576
    assert settings.max_string_bytes == 16_384
    assert settings.max_tensor_elements == 65_536
    assert settings.request_limits == RequestLimits(), "the codec's own defaults"
    assert settings.max_concurrent_requests == 64
    assert settings.drain_seconds == 2.0
    assert settings.graceful_timeout_seconds == 5.0
    assert settings.log_level == "info"
    assert settings.latency_slo_seconds == 0.1
    assert settings.predict_mode is PredictMode.AUTO
    assert settings.batch_max_size == 32
    assert settings.batch_max_wait_seconds == 0.0
    assert (settings.drift_window_rows, settings.drift_min_rows) == (1000, 100)
    assert settings.drift_threshold == 0.2
    assert settings.prediction_log_url == "prediction-logs"
    assert settings.prediction_log_sample_rate == 1.0
    assert settings.prediction_log_inputs == "store"
    assert settings.prediction_log_enabled


def test_identity_variables() -> None:
    settings = Settings.from_env(
        {
            "MODEL_NAME": " churn-model ",
            "SERVICE_NAME": "churn-service",
            "MODEL_URI": "/models/churn",
            "LATENCY_SLO_SECONDS": "0.075",
            "SERVICE_VERSION": "1.2.3",
        }
    )
    assert settings.model_name == "churn-model"
    assert settings.served_as == "churn-service"
    assert settings.model_uri == Path("/models/churn")
    assert settings.latency_slo_seconds == 0.075
    assert settings.service_version == "1.2.3"


def test_the_environment_overrides_the_repositorys_defaults() -> None:
    defaults = Settings(model_name="churn-model", latency_slo_seconds=0.25, port=9000)
    environ = {"PORT": "9100", "LOG_LEVEL": "DEBUG", "DRAIN_SECONDS": "0.5"}
    settings = Settings.from_env(environ, defaults)
    assert (settings.model_name, settings.latency_slo_seconds) == ("churn-model", 0.25)
    assert (settings.port, settings.log_level, settings.drain_seconds) == (9100, "debug", 0.5)


def test_the_batch_wait_is_read_in_milliseconds() -> None:
    settings = Settings.from_env({"PREDICT_MODE": " Batch ", "BATCH_MAX_WAIT_MS": "5"})
    assert settings.predict_mode is PredictMode.BATCH
    assert settings.batch_max_wait_seconds == 0.005
    assert (settings.batch_limits.max_rows, settings.batch_limits.max_wait_seconds) == (32, 0.005)


def test_the_request_limits_are_read_together() -> None:
    settings = Settings.from_env({"MAX_STRING_BYTES": "1024", "MAX_TENSOR_ELEMENTS": " 500 "})
    assert settings.request_limits == RequestLimits(max_string_bytes=1024, max_tensor_elements=500)


def test_monitoring_variables() -> None:
    settings = Settings.from_env(
        {
            "DRIFT_WINDOW_ROWS": "0",
            "DRIFT_THRESHOLD": "0.25",
            "PREDICTION_LOG_URL": "s3://lake/predictions",
            "PREDICTION_LOG_SAMPLE_RATE": "0",
            "PREDICTION_LOG_INPUTS": "HASH",
            "PREDICTION_LOG_FLUSH_SECONDS": "0.5",
            "PREDICTION_LOG_QUEUE_SIZE": "5",
        }
    )
    assert settings.drift_window_rows == 0
    assert settings.drift_threshold == 0.25
    assert settings.prediction_log_url == "s3://lake/predictions"
    assert not settings.prediction_log_enabled
    assert settings.prediction_log_inputs == "hash", "not the default (store): read, lowercased"
    assert settings.prediction_log_flush_seconds == 0.5
    assert settings.prediction_log_queue_size == 5


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("PORT", "http", "a whole number from 1 to 65535"),
        ("PORT", "0", "a whole number from 1 to 65535"),
        ("MAX_BODY_BYTES", "-1", "a whole number"),
        ("MAX_CONCURRENT_REQUESTS", "1.5", "a whole number"),
        ("MAX_STRING_BYTES", "0", "a whole number from 1 to 1073741824"),
        ("MAX_STRING_BYTES", "16k", "a whole number from 1 to 1073741824"),
        ("MAX_TENSOR_ELEMENTS", "-5", "a whole number from 1 to 1073741824"),
        ("LOG_LEVEL", "verbose", "one of debug, info, warning, error, critical"),
        ("DRAIN_SECONDS", "nan", "a number of seconds"),
        ("MODEL_LOAD_DELAY_SECONDS", "-3", "a number of seconds"),
        ("MODEL_URI", "  ", "a path"),
        ("MODEL_NAME", "churn model", "letters, digits, dots, dashes or underscores"),
        ("MODEL_NAME", "../etc", "starting with a letter or digit"),
        ("SERVICE_NAME", "a\tb", "printable characters"),
        ("SERVICE_VERSION", "", "printable characters"),
        ("LATENCY_SLO_SECONDS", "0", "a number of seconds from 0.001 to 60"),
        ("PREDICT_MODE", "gpu", "one of auto, inline, thread, batch"),
        ("BATCH_MAX_SIZE", "0", "a whole number from 1 to 65536"),
        ("BATCH_MAX_WAIT_MS", "-1", "a number of milliseconds from 0 to 1000"),
        ("DRIFT_WINDOW_ROWS", "-1", "a whole number from 0"),
        ("DRIFT_THRESHOLD", "0", "a number from 0.001 to 100"),
        ("PREDICTION_LOG_SAMPLE_RATE", "1.5", "a fraction from 0 to 1"),
        ("PREDICTION_LOG_SAMPLE_RATE", "nan", "a fraction from 0 to 1"),
        ("PREDICTION_LOG_INPUTS", "encrypt", "one of store, hash, drop"),
        ("PREDICTION_LOG_FLUSH_SECONDS", "0", "a number of seconds from 0.1 to 3600"),
        ("PREDICTION_LOG_URL", " ", "printable characters"),
        ("LABELS_AUTH", "none", "one of token, mesh"),
        ("LABELS_MAX_ITEMS", "0", "a whole number from 1 to 100000"),
        ("LABELS_URL", "", "printable characters"),
    ],
)
def test_bad_values_name_the_variable_the_value_and_what_is_accepted(
    variable: str, value: str, accepted: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({variable: value})
    message = str(error.value)
    assert message.startswith(f"{variable}={value!r} is not valid")
    assert accepted in message


def test_values_given_in_code_are_checked_like_the_environment() -> None:
    with pytest.raises(SettingsError) as error:
        Settings(model_name="churn model").check()
    assert str(error.value).startswith("model_name='churn model' (MODEL_NAME) is not valid")
    with pytest.raises(SettingsError, match=r"\(BATCH_MAX_WAIT_MS\).*milliseconds"):
        Settings(batch_max_wait_seconds=2.0).check()


def test_values_given_in_code_are_read_like_the_environment() -> None:
    # A repository's `serve(predict_mode="thread", model_uri="models")` must mean what
    # PREDICT_MODE=thread and MODEL_URI=models mean.
    given_in_code = Settings(
        predict_mode="thread",  # type: ignore[arg-type]
        model_uri="models",  # type: ignore[arg-type]
        log_level="DEBUG",
        batch_max_wait_seconds=0.0035,
    ).check()
    assert given_in_code.predict_mode is PredictMode.THREAD
    assert given_in_code.model_uri == Path("models")
    assert given_in_code.log_level == "debug"
    assert given_in_code.batch_max_wait_seconds == 0.0035
    assert Settings().check() == Settings()


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


@given(st.integers(min_value=1, max_value=65_535))
def test_every_valid_port_is_accepted(port: int) -> None:
    assert Settings.from_env({"PORT": f" {port} "}).port == port


@given(st.integers().filter(lambda n: not 1 <= n <= 65_535))
def test_every_invalid_port_is_refused(port: int) -> None:
    with pytest.raises(SettingsError, match="PORT="):
        Settings.from_env({"PORT": str(port)})


def test_the_labels_settings_are_read_and_the_token_is_never_shown() -> None:
    settings = Settings.from_env(
        {
            "LABELS_URL": "s3://lake/churn/labels",
            "LABELS_AUTH": "MESH",
            "LABELS_TOKEN": "t0ken-value",
            "LABELS_MAX_ITEMS": "50",
        }
    )
    assert (settings.labels_url, settings.labels_auth) == ("s3://lake/churn/labels", "mesh")
    assert (settings.labels_token, settings.labels_max_items) == ("t0ken-value", 50)
    assert "t0ken-value" not in repr(settings)
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"LABELS_TOKEN": "has a space"})
    assert str(error.value).startswith("LABELS_TOKEN=<secret> is not valid")
    assert "has a space" not in str(error.value)
