#!/bin/sh
# Install the Debian packages kumo's build, tests and demo need, when missing.
# Runs as root on the project's machines (CI included); says what it installs.
set -eu

# --- Python tools (h-cli block): the local cloud runs on moto 5.2.1 (server
# extras), the tests read back with boto3 and compare `kumo call` with the AWS
# CLI v1. They come from PyPI, not Debian: checked (on every exit path), not
# installed; a missing one fails with the command that installs it.
python_tools_check() {
  py="${KUMO_PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "deps: $py not found; install Python 3 (Debian: apt-get install python3 python3-pip)" >&2
    exit 1
  fi
  gone=""
  "$py" -c 'import moto, sys; sys.exit(0 if moto.__version__ == "5.2.1" else 1)' 2>/dev/null \
    || gone="$gone 'moto[server]==5.2.1'"
  "$py" -c 'import boto3' 2>/dev/null || gone="$gone boto3"
  command -v aws >/dev/null 2>&1 || gone="$gone awscli"
  if [ -n "$gone" ]; then
    echo "deps: $py lacks (or has the wrong version of):$gone" >&2
    echo "deps: install with: $py -m pip install$gone" >&2
    exit 1
  fi
}
trap 'python_tools_check' EXIT
# --- end of the Python tools block
PKGS="pkg-config curl liblua5.4-dev lua5.4 lua-cjson libcurl4-openssl-dev libssl-dev libexpat1-dev zlib1g-dev lua-busted lua-check clang libclang-rt-14-dev valgrind groff-base hyperfine graphviz luarocks libreadline-dev zsh"
# the sandbox's real databases (kumo sandbox --databases: PostgreSQL 15 and
# MariaDB 10.11, Debian 12's) and the clients verify --connect and the
# procedure's "try it" use (psql, mysql)
PKGS="$PKGS postgresql-15 postgresql-client-15 mariadb-server mariadb-client"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
