# (d) MLServer + scikit-learn runtime on the same base image as the generated service.
# `mlserver build` would pull seldonio/mlserver from a registry; this installs from PyPI.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
COPY model.joblib /models/iris/model.joblib
RUN printf '{"name": "iris", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./model.joblib"}}' \
      > /models/iris/model-settings.json \
    && printf '{"http_port": 8080, "grpc_port": 8081, "metrics_port": 8082, "metrics_dir": "/tmp/mlserver-metrics"}' \
      > /models/settings.json
# Non-root, like the generated service; MLServer writes its metrics files under /tmp.
USER 1000
WORKDIR /tmp
EXPOSE 8080
CMD ["/opt/venv/bin/mlserver", "start", "/models"]
