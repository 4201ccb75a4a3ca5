# 'make install': an installed kumo finds its modules with no environment
# variable; DESTDIR stages the same tree; uninstall removes it.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok - $name"
    pass=$((pass + 1))
  else
    echo "FAILED - $name"
    sed 's/^/  /' "$tmp/out" | head -n 20
    fail=$((fail + 1))
  fi
}
prefix="$tmp/prefix"
check "make install PREFIX=$prefix" make --no-print-directory install PREFIX="$prefix"
check "binary, modules, scripts, man page in place" test -x "$prefix/bin/kumo" \
  -a -f "$prefix/share/kumo/lua/kumo/json.lua" -a -d "$prefix/share/kumo/scripts" \
  -a -f "$prefix/share/man/man1/kumo.1"
# from another directory, with an empty environment
check "installed kumo uses its DATADIR, not the build tree" \
  bash -c "cd / && env -i PATH=/usr/bin:/bin '$prefix/bin/kumo' -e '
    local sys = require \"kumo.sys\"
    assert(sys.moddir == \"$prefix/share/kumo/lua\", sys.moddir)
    assert(sys.datadir == \"$prefix/share/kumo\", sys.datadir)
    assert(package.searchpath(\"kumo.json\", package.path) == \"$prefix/share/kumo/lua/kumo/json.lua\")'"
check "installed kumo loads every native module and kumo.json" \
  bash -c "cd / && env -i PATH=/usr/bin:/bin '$prefix/bin/kumo' -e '
    for _, m in ipairs { \"kumo.sigv4\", \"kumo.http\", \"kumo.xml\", \"kumo.crypto\", \"kumo.clock\", \"kumo.sys\", \"kumo.json\", \"cjson\" } do
      assert(type(require(m)) == \"table\", m)
    end
    assert(require(\"kumo.json\").encode({ 1 }) == \"[1]\")'"
check "installed kumo version" bash -c "'$prefix/bin/kumo' version | grep -q '^kumo '"
check "man page renders without warnings" bash -c \
  "groff -man -ww -z '$prefix/share/man/man1/kumo.1' 2>&1 | (! grep .)"
stage="$tmp/stage"
check "make install DESTDIR=... stages under DESTDIR" make --no-print-directory install \
  PREFIX=/opt/kumo DESTDIR="$stage"
check "staged binary has PREFIX (not DESTDIR) compiled in" bash -c \
  "grep -q /opt/kumo/share/kumo '$stage/opt/kumo/bin/kumo' && ! grep -q '$stage' '$stage/opt/kumo/bin/kumo' && test -f '$stage/opt/kumo/share/kumo/lua/kumo/init.lua'"
check "make uninstall" bash -c "make --no-print-directory uninstall PREFIX='$prefix' >/dev/null && test ! -e '$prefix/bin/kumo' && test ! -e '$prefix/share/kumo'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
