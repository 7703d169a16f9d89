# The team file server: `docker run -p 8001:8001 -v files-data:/data IMAGE`.
# Builds with the legacy builder too (no RUN --mount, no heredocs).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
# Wheels come from the package index, or, only when this names a folder of the
# build context, from there (made on a host that can reach an index the build
# container cannot): `--build-arg WHEELHOUSE=wheelhouse`.
ARG WHEELHOUSE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
# The runtime venv keeps no pip or setuptools: nothing installs at run time.
RUN if [ -n "$WHEELHOUSE" ]; then cp -r "$WHEELHOUSE" /wheels; \
    else python3 -m pip wheel --wheel-dir /wheels ./plugins/datasette-files . ; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels datasette-files-server \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM ${BASE_IMAGE}
RUN useradd --create-home --uid 10001 --user-group files \
 && mkdir /data && chown files:files /data
COPY --from=build /opt/venv /opt/venv
COPY config /app/config
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    CONFIG_PATH=/app/config/datasette.yaml \
    HOST=0.0.0.0 \
    PORT=8001
VOLUME /data
USER files
WORKDIR /home/files
EXPOSE 8001
# A short interval so Docker says "healthy" seconds after start (Docker 20.10
# has no --start-interval); one check is a short Python process.
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 \
  CMD python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/-/health' % os.environ.get('PORT', '8001'), timeout=4)"
STOPSIGNAL SIGTERM
CMD ["files-server", "serve"]
