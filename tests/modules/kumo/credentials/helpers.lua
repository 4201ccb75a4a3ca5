-- Shared helpers of the credentials specs: temp dirs, files, a getenv
-- from a table, and the loopback fake endpoints (fake_endpoints.py).
local H = {}

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."

function H.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

function H.write(path, text, mode)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then os.execute("chmod " .. mode .. " " .. path) end
  return path
end

function H.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function H.getenv(t)
  return function(name) return t[name] end
end

--- Start fake_endpoints.py on a free loopback port.
-- @return { url = "http://127.0.0.1:PORT", port =, stop = fn, config = fn(t), log = fn(), reset = fn() }
function H.start_fake()
  local dir = H.tmpdir()
  local portfile = dir .. "/port"
  local pidfile = dir .. "/pid"
  local http = require "kumo.http"
  local me = require("kumo.sys").getpid()          -- the fake exits when this process does
  assert(os.execute(string.format("python3 %s/fake_endpoints.py %s %d >%s/log 2>&1 & echo $! > %s",
    here, portfile, me, dir, pidfile)))
  local port
  for _ = 1, 200 do
    port = H.read(portfile)
    if port and port ~= "" then break end
    os.execute("sleep 0.05")
  end
  assert(port and port ~= "", "fake endpoints did not start: " .. tostring(H.read(dir .. "/log")))
  local pid = H.read(pidfile):match("%d+")
  local json = require "cjson"
  local fake = { url = "http://127.0.0.1:" .. port, port = tonumber(port), dir = dir }
  function fake.config(t)
    assert(http.request{ method = "POST", url = fake.url .. "/_config", body = json.encode(t) })
  end
  function fake.reset()
    assert(http.request{ method = "POST", url = fake.url .. "/_reset", body = "" })
  end
  function fake.log()
    local res = assert(http.request{ method = "GET", url = fake.url .. "/_log" })
    local entries = json.decode(res.body)
    -- Drop the control requests themselves.
    local out = {}
    for _, e in ipairs(entries) do
      if not e.path:match("^/_") then out[#out + 1] = e end
    end
    return out
  end
  function fake.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
  end
  return fake
end

return H
