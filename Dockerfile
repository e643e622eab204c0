# syntax=docker/dockerfile:1
# One image for every opseval service:  docker run IMAGE serve intake|rules|scoring|reporting
# (configured by OPSEVAL_* environment variables). Also `evaluate`, `synth` … as on the command line.
#
# Two stages: the build stage has gcc (durable-rules 2.0.28 has no wheel and compiles from source)
# and uv; the runtime stage gets only the finished virtual environment, so no compiler, no build
# dependency and no uv ship in the image.

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.8

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
# The environment goes where the runtime stage expects it; packages are copied (not linked) and
# not editable, so the environment does not need the sources; byte-code is compiled here because
# the runtime root file system is read-only.
ENV UV_PROJECT_ENVIRONMENT=/opt/opseval \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3
WORKDIR /src
# Third-party dependencies first (from uv.lock, exactly): this layer is rebuilt only when the lock
# or a pyproject.toml changes, not when the code does.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY shared/infra/pyproject.toml shared/infra/
COPY services/intake/pyproject.toml services/intake/
COPY services/rules/pyproject.toml services/rules/
COPY services/scoring/pyproject.toml services/scoring/
COPY services/reporting/pyproject.toml services/reporting/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace
# Then the workspace itself.
COPY shared/ shared/
COPY services/ services/
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable \
 && /opt/opseval/bin/opseval --help >/dev/null

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# report.pdf (WeasyPrint) needs Pango and HarfBuzz subsetting; every Chinese label of the PDF, the DOCX
# charts and the dashboard's documents needs a CJK font (Noto CJK, mainland SC forms). fontconfig gets
# the aliases that map the documents' 宋体/黑体 to Noto Serif/Sans CJK SC.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
COPY services/reporting/opseval_reporting/fontconfig/65-opseval-cjk.conf /etc/fonts/conf.d/65-opseval-cjk.conf
RUN groupadd --system --gid 10001 opseval \
 && useradd --system --uid 10001 --gid opseval --home-dir /var/lib/opseval --create-home \
      --shell /usr/sbin/nologin opseval
COPY --from=build /opt/opseval /opt/opseval
ENV PATH=/opt/opseval/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPSEVAL_HTTP_HOST=0.0.0.0
# Build-time checks, so an image without them cannot be built: the font caches are built here (the
# runtime root file system is read-only), a chart draws Chinese glyphs with a CJK font (not boxes),
# and WeasyPrint finds Pango.
RUN fc-cache -f \
 && fc-match 宋体 | grep -q "CJK" \
 && /opt/opseval/bin/python -m opseval_reporting.charts \
 && /opt/opseval/bin/python -c "import weasyprint; print('WeasyPrint', weasyprint.__version__, 'with Pango')"
# The working directory is the user's home: a sqlite:///relative.db store URL lands here.
WORKDIR /var/lib/opseval
USER 10001:10001
# reporting 8080, intake 8081, rules 8082, scoring 8083 (each service's default OPSEVAL_HTTP_PORT)
EXPOSE 8080 8081 8082 8083
# No HEALTHCHECK: compose and Kubernetes probe /healthz and /readyz themselves.
ENTRYPOINT ["opseval"]
CMD ["--help"]
