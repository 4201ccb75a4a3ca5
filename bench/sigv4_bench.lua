--- Signatures per second of kumo.sigv4.sign called from Lua, on the
-- benchmark's request (an RDS DescribeDBProxies POST, header form).
-- Prints "<signatures per second> <signature>". Time is CPU time (os.clock).
-- Usage: kumo run bench/sigv4_bench.lua [SECONDS]
local sigv4 = require "kumo.sigv4"

local seconds = tonumber(arg and arg[1]) or 2
local req = {
  method = "POST",
  url = "https://rds.ap-northeast-1.amazonaws.com/",
  headers = {
    { "Host", "rds.ap-northeast-1.amazonaws.com" },
    { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
  },
  body = "Action=DescribeDBProxies&Version=2014-10-31",
  region = "ap-northeast-1", service = "rds",
  access_key_id = "AKIDEXAMPLE",
  secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  time = 1440938160,
}
local sign, clock = sigv4.sign, os.clock
local n, info = 0, nil
local t0 = clock()
local t
repeat
  for _ = 1, 10000 do
    local _, i = sign(req)
    info = i
  end
  n = n + 10000
  t = clock() - t0
until t >= seconds
print(("%.0f %s"):format(n / t, info.signature))
