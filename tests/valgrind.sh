#!/usr/bin/env bash
# 'make valgrind': the C unit tests (every suite that honours
# KUMO_VALGRIND=1: 02-c-unit, 22-sigv4-c, ...) and a Lua smoke test of every native module (HTTP against a loopback server) run
# by bin/kumo under valgrind. Any memory error or any definite, indirect or
# possible leak fails. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
export PATH="$PWD/bin:$PATH"
VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
pass=0
fail=0

for suite in $(grep -l KUMO_VALGRIND tests/suites.d/*.sh); do
  echo "=== $(basename "$suite" .sh) under valgrind"
  if KUMO_VALGRIND=1 bash "$suite"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
done

echo "=== Lua smoke test under valgrind"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/smoke.lua" <<'LUA'
local crypto = require "kumo.crypto"
local clock = require "kumo.clock"
local xml = require "kumo.xml"
local json = require "kumo.json"
local http = require "kumo.http"
local sys = require "kumo.sys"
local server, portfile = ...

assert(crypto.hmac_sha256_hex("Jefe", "what do ya want for nothing?")
  == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
assert(crypto.base64_decode(crypto.base64_encode(crypto.random(100))))
assert(#crypto.uuid4() == 36)
assert(clock.parse(clock.rfc822(1440938160)) == 1440938160)
assert(clock.parse("nonsense") == nil)
assert(xml.decode("<a x='1'>t<b/>u</a>").text == "tu")
assert(xml.decode("<a><b></a>") == nil)
assert(not pcall(xml.decode, "<a/>", { max_depth = "x" }))
assert(json.decode(json.encode({ a = json.array(), n = 9007199254740993 })).n == 9007199254740993)
-- xml.read's compiled programs (cached, then collected) through a client call
local cases = json.decode(assert(io.open("bench/client/cases.json")):read("a"))
local aws = require "kumo.aws"
for _, case in ipairs(cases) do
  local res = { status = 200, headers = case.headers, body = case.body }
  local s = aws.session { region = "us-east-1", env = {}, config_file = "/nonexistent",
    credentials_file = "/nonexistent", transport = function() return res end,
    credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "x" } }
  local c = s:client(case.service)
  for _ = 1, 3 do assert(type(c:call(case.op, case.params)) == "table") end
end
assert(#aws.session { region = "us-east-1", env = {}, config_file = "/nonexistent",
  credentials_file = "/nonexistent", credentials = { access_key_id = "A", secret_access_key = "x" },
  transport = function() return { status = 200, headers = {}, body = cases[2].body } end }
  :client("ec2"):DescribeSubnets{}.Subnets == 6)
collectgarbage()
local ok_sigv4, sigv4 = pcall(require, "kumo.sigv4")
if ok_sigv4 and sigv4.sign then
  sigv4.sign { method = "GET", url = "https://example.amazonaws.com/", headers = {},
    body = "", region = "us-east-1", service = "service",
    access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    time = 1440938160 }
end

-- HTTP: the loopback server of the http spec
local proc = assert(io.popen("exec python3 " .. server .. " > " .. portfile, "w"))
local port
for _ = 1, 100 do
  local f = io.open(portfile)
  port = f and tonumber(f:read("l"))
  if f then f:close() end
  if port then break end
  clock.sleep(0.1)
end
assert(port, "server did not start")
local base = "http://127.0.0.1:" .. port
for _ = 1, 5 do
  assert(http.request { method = "POST", url = base .. "/echo", body = "x",
    headers = { { "X-A", "1" } } }.status == 200)
end
assert(http.request { url = base .. "/bytes/5000", max_size = 100 } == nil)
local ids = {}
for i = 1, 4 do ids[i] = http.start { url = base .. "/slow/50" } end
http.cancel(ids[4])
local n = 0
while n < 3 do n = n + #http.poll(2) end
http.start { url = base .. "/slow/2000" }  -- left in flight: freed at exit
assert(sys.getpid() > 0)
proc:close()
print("smoke ok")
LUA
if "${VG[@]}" bin/kumo run "$tmp/smoke.lua" "$PWD/tests/modules/kumo/http_spec_server.py" "$tmp/port"; then
  echo "smoke: ok"
  pass=$((pass + 1))
else
  echo "smoke: FAILED"
  fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
