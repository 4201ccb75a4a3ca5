#!/bin/sh
# Install the Debian packages kumo's build, tests and demo need, when missing.
# Runs as root on the project's machines (CI included); says what it installs.
set -eu
PKGS="pkg-config curl liblua5.4-dev lua5.4 lua-cjson libcurl4-openssl-dev libssl-dev libexpat1-dev zlib1g-dev lua-busted lua-check clang libclang-rt-14-dev valgrind groff-base hyperfine graphviz"
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
