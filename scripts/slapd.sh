#!/usr/bin/env bash
# A real OpenLDAP server for lakegate's tests, on loopback ports, in a
# directory of its own:
#
#   scripts/slapd.sh start DIR LDAP_PORT LDAPS_PORT   # generate, start, load testdata/ldap/directory.ldif
#   scripts/slapd.sh stop DIR
#
# start writes DIR/ca.pem (the CA of the server's certificate, for
# 127.0.0.1 and localhost), DIR/slapd.conf and DIR/env (LDAP_URL, LDAPS_URL,
# LDAP_CA, LDAP_BIND_DN, LDAP_BIND_PASSWORD, LDAP_ROOT_DN,
# LDAP_ROOT_PASSWORD), and returns once the server answers with the data
# loaded. It needs slapd and ldap-utils (scripts/ensure-slapd.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
suffix="dc=example,dc=com"
rootdn="cn=admin,$suffix"
rootpw="lakegate-test-root"

cmd="${1:-}"
dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start DIR LDAP_PORT LDAPS_PORT | stop DIR" >&2; exit 2; }

stop() {
  if [[ -f "$dir/slapd.pid" ]]; then
    pid="$(cat "$dir/slapd.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/slapd.pid"
  fi
}

case "$cmd" in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: $0 start DIR LDAP_PORT LDAPS_PORT | stop DIR" >&2; exit 2 ;;
esac

port="${3:?LDAP_PORT}"
tlsport="${4:?LDAPS_PORT}"
slapd="$(command -v slapd || echo /usr/sbin/slapd)"
[[ -x "$slapd" ]] || { echo "slapd is not installed: run scripts/ensure-slapd.sh" >&2; exit 3; }
command -v ldapmodify >/dev/null || { echo "ldap-utils are not installed: run scripts/ensure-slapd.sh" >&2; exit 3; }
modules=/usr/lib/ldap
[[ -e "$modules/back_mdb.so" ]] || modules="$(dirname "$(find /usr/lib -name 'back_mdb.so' -print -quit 2>/dev/null || true)")"

stop
mkdir -p "$dir/db"
chmod 700 "$dir"

# A CA and a server certificate for 127.0.0.1 and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=lakegate test CA" \
  -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$dir/server-key.pem" -out "$dir/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
  -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" >/dev/null 2>&1

cat > "$dir/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath $modules
moduleload back_mdb
moduleload memberof
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server-key.pem

database mdb
maxsize 67108864
suffix "$suffix"
rootdn "$rootdn"
rootpw $rootpw
directory $dir/db

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=lakegate,ou=services,$suffix" read
  by * none
EOF

"$slapd" -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tlsport/" >"$dir/slapd.log" 2>&1
for _ in $(seq 100); do
  if ldapsearch -x -H "ldap://127.0.0.1:$port" -D "$rootdn" -w "$rootpw" -b "" -s base >/dev/null 2>&1; then break; fi
  sleep 0.1
done
ldapmodify -a -x -H "ldap://127.0.0.1:$port" -D "$rootdn" -w "$rootpw" -f "$root/testdata/ldap/directory.ldif" >"$dir/load.log"

cat > "$dir/env" <<EOF
LDAP_URL=ldap://127.0.0.1:$port
LDAPS_URL=ldaps://127.0.0.1:$tlsport
LDAP_CA=$dir/ca.pem
LDAP_BIND_DN=cn=lakegate,ou=services,$suffix
LDAP_BIND_PASSWORD=lakegate-bind-secret
LDAP_ROOT_DN=$rootdn
LDAP_ROOT_PASSWORD=$rootpw
EOF
echo "slapd on ldap://127.0.0.1:$port and ldaps://127.0.0.1:$tlsport ($dir)"
