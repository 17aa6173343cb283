#!/bin/sh
# A Sentinel rewrites its configuration file, so it is written afresh at each start, watching
# the primary the other Sentinels name (vfer-redis-0 on the first start).
set -eu
primary=$(redis-cli -h vfer-redis-sentinel -p 26379 sentinel get-master-addr-by-name vfer 2>/dev/null | head -n 1 || true)
[ -n "$primary" ] || primary=vfer-redis-0.vfer-redis
cat > /conf/sentinel.conf <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $(hostname).vfer-redis
sentinel monitor vfer $primary 6379 2
sentinel auth-pass vfer $REDIS_PASSWORD
sentinel down-after-milliseconds vfer 5000
sentinel failover-timeout vfer 60000
CONF
exec redis-server /conf/sentinel.conf --sentinel
