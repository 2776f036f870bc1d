#!/usr/bin/env bash
# make demo: a planner on its embedded store, a sample policy, and what
# admin, alice (group analysts) and bob (no grants) may see of
# okera_sample.users.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LAKEGATE_BIN:-bin/lakegate}
work=$(mktemp -d "${TMPDIR:-/tmp}/lakegate-demo.XXXXXX")
planner_pid=
cleanup() {
	if [ -n "$planner_pid" ]; then kill "$planner_pid" 2>/dev/null || true; wait "$planner_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export OKERA_PLANNER=127.0.0.1:$port

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "keys and a planner on an embedded store ($work/data, port $port)"
"$BIN" keygen --out "$work/keys" >/dev/null
"$BIN" serve --data-dir "$work/data" --jwt-public-key "$work/keys/jwt-public.pem" --listen "$OKERA_PLANNER" \
	>"$work/planner.log" 2>&1 &
planner_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "http://$OKERA_PLANNER/readyz" >/dev/null 2>&1 && break
	kill -0 "$planner_pid" 2>/dev/null || { cat "$work/planner.log"; exit 1; }
	sleep 0.1
done
curl -fsS "http://$OKERA_PLANNER/readyz"

token() { "$BIN" token --key "$work/keys/jwt-private.pem" --user "$1" ${2:+--groups "$2"}; }
ADMIN=$(token admin admin)
ALICE=$(token alice analysts)
BOB=$(token bob)

say "the sample policy, applied as admin"
policy="CREATE ROLE analyst;
GRANT ROLE analyst TO GROUP analysts;
GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F' TO ROLE analyst"
echo "$policy"
"$BIN" sql --token "$ADMIN" "$policy"
"$BIN" sql --token "$ADMIN" "SHOW GRANTS ON TABLE okera_sample.users"

for who in admin alice bob; do
	case $who in admin) tok=$ADMIN ;; alice) tok=$ALICE ;; bob) tok=$BOB ;; esac
	say "$who: whoami, then what $who may see of okera_sample.users"
	"$BIN" whoami --token "$tok"
	"$BIN" authorize --token "$tok" --table okera_sample.users --output text || echo "(exit code $?: denied)"
done

say "stop the planner (SIGTERM: graceful) and read its audit log"
kill -TERM "$planner_pid"; wait "$planner_pid" || true; planner_pid=
"$BIN" audit --data-dir "$work/data" --limit 100 | jq -c '{user, statement_type, objects, outcome}' | tail -n 6
