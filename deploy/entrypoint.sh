#!/bin/sh
# Container entrypoint (Dockerfile, fly.toml's [processes]). Starts as root only to hand the Fly
# volume (root-owned when new) to the unprivileged prongsai user, then runs everything as that user.
#
#   primary   the machine with the volume: supervisord runs `prongsai serve` and `prongsai notify`
#             side by side (deploy/supervisord.conf), under Litestream when a bucket is configured,
#             so complaints.db is replicated continuously
#   copy      a read copy without a volume: `prongsai fetch-public` (PRONGSAI_PUBLIC_DB_URL; without
#             it, the image's own database), then `prongsai serve` with PRONGSAI_ROLE=copy
#   anything else runs as given (`prongsai serve` alone is still replicated: one machine, no worker)
set -eu
DATA="${PRONGSAI_DATA_DIR:-/data}"

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$DATA"
    chown prongsai:prongsai "$DATA"
    chmod 700 "$DATA"
    exec setpriv --reuid=prongsai --regid=prongsai --init-groups --inh-caps=-all -- "$0" "$@"
fi

case "${1:-}" in
    primary)
        set -- supervisord -c /app/deploy/supervisord.conf ;;
    copy)
        export PRONGSAI_ROLE=copy
        DB=/app/data/procurement.db
        if [ -n "${PRONGSAI_PUBLIC_DB_URL:-}" ]; then
            DB="$DATA/public/procurement.db"
            prongsai fetch-public --db "$DB"   # sha256-checked, resumed, swapped in atomically
        fi
        exec prongsai serve --host 0.0.0.0 --db "$DB" ;;
esac

# Only the server replicates: a release or one-off machine must never write to the replica.
if { [ "${1:-}" = supervisord ] || [ "${1:-} ${2:-}" = "prongsai serve" ]; } && [ -n "${BUCKET_NAME:-}" ]; then
    # A new, empty volume (first boot, or a replaced machine) gets the last replicated state.
    litestream restore -config /app/litestream.yml -if-db-not-exists -if-replica-exists "$DATA/complaints.db"
    exec litestream replicate -config /app/litestream.yml -exec "$*"
fi
exec "$@"
