# One image for the gateway and the workers; the command chooses the role.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vfer ./vfer
COPY service ./service
COPY worker ./worker
# torch is installed first, as chosen by the build arguments: for a small CPU image pass
# TORCH_PIP_ARGS="--index-url <PyTorch's CPU wheel index>"; the default is PyPI's build.
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_PIP_ARGS=""
RUN pip install --no-cache-dir ${TORCH_SPEC} ${TORCH_PIP_ARGS} \
 && pip install --no-cache-dir '.[service]'
ENV VFER_HOST=0.0.0.0 VFER_BLOB_DIR=/blobs
EXPOSE 8000
CMD ["vfer", "serve"]
