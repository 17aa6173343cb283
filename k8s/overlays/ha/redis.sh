#!/bin/sh
# A Redis pod starts as a replica of the primary the Sentinels name; when none answers (the
# first start), vfer-redis-0 is the primary. Peers are named by their stable DNS names, not IPs.
set -eu
self="$(hostname).vfer-redis"
primary=$(env -u REDISCLI_AUTH redis-cli -h vfer-redis-sentinel -p 26379 sentinel get-master-addr-by-name vfer 2>/dev/null | head -n 1 || true)
[ -n "$primary" ] || primary=vfer-redis-0.vfer-redis
set -- --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" --replica-announce-ip "$self" \
  --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --dir /data
[ "$primary" = "$self" ] || set -- "$@" --replicaof "$primary" 6379
exec redis-server "$@"
