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
# Stock lua5.4 with Lua's paths set to a staged PREFIX=/usr/local tree:
# the Lua files and the native modules from their pkg-config paths.
lstage="$tmp/lstage"
lmod=$(pkg-config --define-variable=prefix=/usr/local --variable=INSTALL_LMOD lua5.4)
cmod=$(pkg-config --define-variable=prefix=/usr/local --variable=INSTALL_CMOD lua5.4)
check "make install DESTDIR=... PREFIX=/usr/local lays the library on Lua's paths" bash -c \
  "make --no-print-directory install DESTDIR='$lstage' PREFIX=/usr/local >/dev/null && test -f '$lstage$lmod/kumo/aws.lua' -a -f '$lstage$cmod/kumo/native.so' -a -e '$lstage$cmod/kumo/sigv4.so' -a -x '$lstage/usr/local/bin/kumo' -a -f '$lstage/usr/local/share/man/man1/kumo.1'"
lua_env="LUA_PATH='$lstage$lmod/?.lua;$lstage$lmod/?/init.lua;;' LUA_CPATH='$lstage$cmod/?.so;;'"
check "stock lua5.4 loads every native module as a shared object and signs a request" \
  bash -c "cd / && env -i PATH=/usr/bin:/bin $lua_env lua5.4 -e '
    for _, m in ipairs { \"kumo.sigv4\", \"kumo.http\", \"kumo.xml\", \"kumo.crypto\", \"kumo.clock\", \"kumo.sys\" } do
      assert(package.searchpath(m, package.cpath):find(\"$lstage\", 1, true), m)
      assert(type(require(m)) == \"table\", m)
    end
    local add = require(\"kumo.sigv4\").sign{ method = \"GET\", url = \"https://sts.amazonaws.com/\",
      headers = { { \"Host\", \"sts.amazonaws.com\" } }, body = \"\", access_key_id = \"AKIDEXAMPLE\",
      secret_access_key = \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\", region = \"us-east-1\", service = \"sts\", time = 1440938160 }
    assert(add[1][1] == \"Authorization\" and add[1][2]:find(\"Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request\", 1, true), add[1][2])
    assert(require(\"kumo.aws\").session)'"
sbdir="$tmp/sandbox"
if bin/kumo sandbox --detach --dir "$sbdir" >"$tmp/sb.out" 2>&1; then
  check "stock lua5.4 calls STS on the sandbox through require \"kumo.aws\"" \
    bash -c ". '$sbdir/env.sh' && cd / && env $lua_env lua5.4 -e '
      local aws = require \"kumo.aws\"
      local out = aws.session{ profile = \"rds\" }:client(\"sts\"):GetCallerIdentity{}
      assert(out.Account:match(\"^%d+\$\"), tostring(out.Account))
      print(out.Account)'"
  bin/kumo sandbox stop --dir "$sbdir" >/dev/null 2>&1
else
  echo "FAILED - the sandbox did not start"; sed 's/^/  /' "$tmp/sb.out" | tail -n 20; fail=$((fail + 1))
fi
# luarocks make in a clean copy of the tree (git's files), into a tree of
# its own; Debian's lua-cjson is not a rock, hence --deps-mode=none.
rsrc="$tmp/rock-src"
mkdir -p "$rsrc"
if git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$rsrc"; then
  check "luarocks make builds and installs the rock in a clean tree" bash -c \
    "cd '$rsrc' && luarocks --lua-version=5.4 make --tree '$tmp/rocks' --deps-mode=none kumo-*.rockspec >'$tmp/rock.log' 2>&1 || { tail -n 20 '$tmp/rock.log'; exit 1; }"
  check "lua5.4 on the rock's paths loads kumo.aws and the native modules" bash -c \
    "eval \"\$(luarocks --lua-version=5.4 --tree '$tmp/rocks' path)\" && cd / && lua5.4 -e '
      assert(package.searchpath(\"kumo.http\", package.cpath):find(\"$tmp/rocks\", 1, true))
      assert(require(\"kumo.crypto\").sha256_hex(\"\") == \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\")
      assert(require(\"kumo.aws\").session)'"
else
  echo "FAILED - copying the tree for luarocks"; fail=$((fail + 1))
fi
check "make uninstall" bash -c "make --no-print-directory uninstall PREFIX='$prefix' >/dev/null && test ! -e '$prefix/bin/kumo' && test ! -e '$prefix/share/kumo'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
