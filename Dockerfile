# One Dockerfile, three images:
#   docker build --target gateway     -t REGISTRY/vfer-gateway:TAG .      (HTTP + gRPC; no torch, ~300 MB)
#   docker build --target worker      -t REGISTRY/vfer-worker:TAG .       (CPU torch)
#   docker build --target worker-cuda -t REGISTRY/vfer-worker-cuda:TAG .  (CUDA torch; runtime from the wheels)
# Build arguments: BASE_IMAGE (a Debian-based Python 3.11; CI passes a local stand-in),
# TORCH_SPEC, TORCH_CPU_PIP_ARGS (where the CPU wheel comes from), TORCH_CUDA_PIP_ARGS (which
# CUDA build: PyPI's default wheel is CUDA on Linux; e.g. --index-url https://download.pytorch.org/whl/cu126),
# VFER_EXTRAS (more of vfer's extras, comma-separated: `otel` for traces).
ARG BASE_IMAGE=python:3.11-slim-bookworm
# checkov:skip=CKV_DOCKER_7:the base is a build argument whose default is a pinned version tag

FROM ${BASE_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Stages are ordered gateway, worker, worker-cuda: the legacy builder (no BuildKit) builds every
# stage before its target, so a CPU build never fetches CUDA torch.
FROM python AS deps
WORKDIR /src
COPY pyproject.toml scripts/requirements.py ./
RUN python -m venv /opt/vfer

# The code, as a wheel installed without dependencies into each role's environment.
FROM python AS code
WORKDIR /src
COPY pyproject.toml README.md ./
COPY vfer vfer
COPY vfer_jobs vfer_jobs
COPY vfer_client vfer_client
COPY vfer_rpc vfer_rpc
COPY service service
COPY worker worker
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# The final stages share this: a non-root user, /blobs owned by it, nothing to build with.
FROM python AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /home/vfer --create-home vfer \
 && install -d -o 10001 -g 10001 /blobs
# /tmp is the only place written at run time (spooled uploads, the ONNX export cache): mount a
# tmpfs there when the root filesystem is read-only.
ENV PATH=/opt/vfer/bin:$PATH \
    HOME=/home/vfer \
    VFER_BLOB_DIR=/blobs \
    VFER_CACHE_DIR=/tmp/vfer-cache \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /home/vfer

# ---- gateway ----
FROM deps AS build-gateway
ARG VFER_EXTRAS=""
RUN python requirements.py pyproject.toml "gateway,${VFER_EXTRAS}" > requirements.txt \
 && /opt/vfer/bin/pip install -r requirements.txt
COPY --from=code /wheels /wheels
RUN /opt/vfer/bin/pip install --no-deps /wheels/*.whl

FROM runtime AS gateway
COPY --from=build-gateway /opt/vfer /opt/vfer
ENV VFER_HOST=0.0.0.0 VFER_PORT=8000 VFER_GRPC_PORT=50051
EXPOSE 8000 50051
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "service.probe"]
CMD ["vfer", "serve"]

# ---- worker (CPU) ----
FROM deps AS build-worker
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_CPU_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
ARG VFER_EXTRAS=""
# hadolint ignore=SC2086
RUN /opt/vfer/bin/pip install ${TORCH_CPU_PIP_ARGS} "${TORCH_SPEC}" \
 && python requirements.py pyproject.toml "worker,${VFER_EXTRAS}" > requirements.txt \
 && /opt/vfer/bin/pip install -r requirements.txt
COPY --from=code /wheels /wheels
RUN /opt/vfer/bin/pip install --no-deps /wheels/*.whl

FROM runtime AS worker
COPY --from=build-worker /opt/vfer /opt/vfer
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=15s --start-period=120s --retries=3 CMD ["python", "-m", "worker.probe"]
CMD ["vfer", "worker", "--concurrency", "1"]

# ---- worker-cuda: the same code on a CUDA build of torch ----
FROM deps AS build-worker-cuda
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_CUDA_PIP_ARGS=""
ARG VFER_EXTRAS=""
# hadolint ignore=SC2086
RUN /opt/vfer/bin/pip install ${TORCH_CUDA_PIP_ARGS} "${TORCH_SPEC}" \
 && python requirements.py pyproject.toml "worker,${VFER_EXTRAS}" > requirements.txt \
 && /opt/vfer/bin/pip install -r requirements.txt
COPY --from=code /wheels /wheels
RUN /opt/vfer/bin/pip install --no-deps /wheels/*.whl

FROM runtime AS worker-cuda
COPY --from=build-worker-cuda /opt/vfer /opt/vfer
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=15s --start-period=120s --retries=3 CMD ["python", "-m", "worker.probe"]
CMD ["vfer", "worker", "--concurrency", "1"]
