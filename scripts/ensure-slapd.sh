#!/usr/bin/env bash
# Installs OpenLDAP's server and clients (Debian's slapd and ldap-utils) if
# they are missing, for the directory tests (scripts/slapd.sh). The package's
# own server is stopped and disabled: the tests start theirs on loopback
# ports with a generated configuration.
set -euo pipefail
if command -v slapd >/dev/null 2>&1 || [[ -x /usr/sbin/slapd ]]; then
  command -v ldapmodify >/dev/null 2>&1 && exit 0
fi
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
echo "installing slapd and ldap-utils (Debian packages) for the directory tests"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q slapd ldap-utils >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q slapd ldap-utils >/dev/null
}
# The package may have started its own server; the tests do not use it.
$sudo systemctl disable --now slapd >/dev/null 2>&1 || $sudo service slapd stop >/dev/null 2>&1 || true
