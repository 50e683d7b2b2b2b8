#!/usr/bin/env bash
# Stops what scripts/realworld/up.sh started and restores /etc/postfix. Safe to run twice.
set -uo pipefail
RW_DIR=${RW_DIR:-/tmp/mailcensus-realworld}
postfix stop >/dev/null 2>&1
[ -f "$RW_DIR/dovecot/dovecot.conf" ] && doveadm -c "$RW_DIR/dovecot/dovecot.conf" stop >/dev/null 2>&1
for pidfile in "$RW_DIR/dns/unbound.pid" "$RW_DIR/dns/nsd.pid" "$RW_DIR/https.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
done
if [ -d /etc/postfix/.mailcensus-backup ]; then
    cp -a /etc/postfix/.mailcensus-backup/. /etc/postfix/ 2>/dev/null
    rm -rf /etc/postfix/.mailcensus-backup
fi
sleep 0.3
exit 0
