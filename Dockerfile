# syntax=docker/dockerfile:1
# rollcall: the portal (default command) or a runner, on CPU. Multi-stage: build tools and pip
# caches stay in the first stage; the runtime runs as an unprivileged user with data in a volume.
#
#   docker build -t rollcall .
#   docker run -p 8000:8000 -e ROLLCALL_DATABASE_URL=postgresql+psycopg://... rollcall
#   docker run rollcall rollcall run --session s1 --source /data/rec.mp4 ...

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/rollcall
WORKDIR /src
# Dependencies first (a layer reused while only the code changes), then rollcall itself.
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/rollcall/bin/pip install ".[servers]"

FROM ${PYTHON} AS runtime
ENV PATH=/opt/rollcall/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ROLLCALL_HOME=/var/lib/rollcall
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/rollcall --create-home \
      --shell /usr/sbin/nologin rollcall \
    && chmod 700 /var/lib/rollcall
COPY --from=build /opt/rollcall /opt/rollcall
USER rollcall
WORKDIR /var/lib/rollcall
# The face models ship inside the installed packages: load the default engine now (every model's
# sha256 checked, both networks built under onnxruntime), so a bad image fails to build instead
# of failing at the first session.
RUN python -c "from rollcall.vision.engine import FaceEngine; FaceEngine().embedder" \
    && rollcall --help >/dev/null
VOLUME ["/var/lib/rollcall"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import socket; socket.create_connection(('127.0.0.1', 8000), 3).close()" || exit 1
CMD ["rollcall", "serve", "--host", "0.0.0.0", "--port", "8000"]
