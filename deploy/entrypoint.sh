#!/bin/sh
# Container entrypoint (Dockerfile). Starts as root only to hand the Fly volume (root-owned when
# new) to the unprivileged prongsai user, then runs everything as that user. `prongsai serve`
# runs under Litestream when a bucket is configured, so complaints.db is replicated continuously.
set -eu
DATA="${PRONGSAI_DATA_DIR:-/data}"

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$DATA"
    chown prongsai:prongsai "$DATA"
    chmod 700 "$DATA"
    exec setpriv --reuid=prongsai --regid=prongsai --init-groups --inh-caps=-all -- "$0" "$@"
fi

# Only the server replicates: a release or one-off machine must never write to the replica.
if [ "${1:-} ${2:-}" = "prongsai serve" ] && [ -n "${BUCKET_NAME:-}" ]; then
    # A new, empty volume (first boot, or a replaced machine) gets the last replicated state.
    litestream restore -config /app/litestream.yml -if-db-not-exists -if-replica-exists "$DATA/complaints.db"
    exec litestream replicate -config /app/litestream.yml -exec "$*"
fi
exec "$@"
