# (e) BentoML on the same base image as the generated service.
# `bentoml containerize` needs BuildKit and a registry base image; this installs from PyPI.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
COPY model.joblib /app/model.joblib
COPY bento_service.py /app/bento_service.py
WORKDIR /app
ENV BENCH_MODEL_PATH=/app/model.joblib BENTOML_DO_NOT_TRACK=True BENTOML_HOME=/tmp/bentoml
USER 1000
EXPOSE 3000
CMD ["/opt/venv/bin/bentoml", "serve", "bento_service:Iris", "--host", "0.0.0.0", "--port", "3000"]
