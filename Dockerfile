# One image for the gateway and the workers; the command chooses the role.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vfer ./vfer
COPY service ./service
COPY worker ./worker
# CPU torch; for a GPU image, install a CUDA build of torch here instead.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir '.[service]'
ENV VFER_HOST=0.0.0.0 VFER_BLOB_DIR=/blobs
EXPOSE 8000
CMD ["vfer", "serve"]
