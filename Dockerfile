# syntax=docker/dockerfile:1
# The rerankit proxy (`rerankit serve`) as a small, non-root container image.
#
#   docker build -t rerankit-proxy .
#   docker run -p 4000:4000 -e RERANKIT_MASTER_KEY=... -e NVIDIA_NIM_API_KEY=... \
#     -v ./config.yaml:/etc/rerankit/config.yaml:ro -e RERANKIT_CONFIG=/etc/rerankit/config.yaml \
#     rerankit-proxy
#
# Build arguments: PROVIDERS (directory names under providers/; the default is every
# provider that needs no SDK), EXTRA_PACKAGES (more requirements, e.g. "botocore>=1.34"
# with PROVIDERS="... bedrock"). Configuration is by environment (docs/deployment.md).

ARG PYTHON_VERSION=3.12

# -- builder: wheels of the proxy and the chosen providers, installed into a venv ----------
FROM python:${PYTHON_VERSION}-slim AS builder
ARG PROVIDERS="nvidia-nim cohere jina voyage mixedbread together pinecone tei huggingface infinity vllm azure-ai"
ARG EXTRA_PACKAGES=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 UV_LINK_MODE=copy
RUN pip install "uv>=0.5"
WORKDIR /src
COPY core core
COPY plugins/proxy plugins/proxy
COPY plugins/cache plugins/cache
COPY providers providers
# One wheel per distribution; only the chosen providers. Installed by path, so a package
# of the same name on an index can never stand in for ours.
RUN set -eu; \
    for dir in core plugins/proxy plugins/cache $(for p in $PROVIDERS; do echo "providers/$p"; done); do \
        uv build --quiet --wheel --out-dir /wheels "$dir"; \
    done; \
    uv venv /opt/rerankit --python /usr/local/bin/python3; \
    uv pip install --python /opt/rerankit/bin/python /wheels/*.whl "redis>=5.0,<9" $EXTRA_PACKAGES; \
    # A first-party distribution a chosen provider builds on (huggingface: tei, azure-ai:
    # cohere) must be built here too, never taken from an index.
    if uv pip freeze --python /opt/rerankit/bin/python | grep -i '^rerankit' | grep -v '@ file:///wheels/'; then \
        echo "the rerankit distributions above are not built from this repository: add them to PROVIDERS" >&2; \
        exit 1; \
    fi

# -- runtime: the venv on a slim Python, nothing else -----------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
RUN groupadd --system --gid 10001 rerankit \
    && useradd --system --uid 10001 --gid rerankit --create-home --home-dir /home/rerankit \
        --shell /usr/sbin/nologin rerankit
COPY --from=builder /opt/rerankit /opt/rerankit
ENV PATH="/opt/rerankit/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=4000 \
    RERANKIT_LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/rerankit
EXPOSE 4000
# No curl in the image: Python asks the liveness route (public, no key needed).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health/liveliness' % (os.environ.get('RERANKIT_PORT') or os.environ.get('PORT') or '4000'), timeout=2)"
ENTRYPOINT ["rerankit", "serve"]
