-- kumo.http against a loopback Python http.server the spec starts itself
-- (tests/modules/kumo/http_spec_server.py): requests and responses,
-- keep-alive reuse, errors (refused, timeout, oversize), the non-blocking
-- start/poll primitives and argument checks.
local http = require "kumo.http"
local sys = require "kumo.sys"
local json = require "kumo.json"
local clock = require "kumo.clock"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

-- Start the server (extra: its arguments); returns its port and a stop
-- function.
local function start_server(extra)
  local portfile = os.tmpname()
  local proc = assert(io.popen("exec python3 " .. here .. "/http_spec_server.py "
    .. (extra or "") .. " > " .. portfile, "w"))
  local port
  for _ = 1, 200 do
    local f = io.open(portfile)
    local line = f and f:read("l")
    if f then f:close() end
    port = line and tonumber(line)
    if port then break end
    clock.sleep(0.05)
  end
  os.remove(portfile)
  assert(port, "the test server did not start")
  return port, function() proc:close() end
end

-- A TCP port with nothing listening: bind one, then let it go.
local function closed_port()
  local p = io.popen([[python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"]])
  local port = tonumber(p:read("l"))
  p:close()
  return port
end

-- Proxy settings of the machine would route loopback requests away.
local PROXY_VARS = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  "no_proxy", "NO_PROXY", "AWS_CA_BUNDLE" }

describe("kumo.http", function()
  local base, stop
  local saved = {}

  setup(function()
    for _, name in ipairs(PROXY_VARS) do
      saved[name] = os.getenv(name)
      sys.setenv(name, nil)
    end
    local port
    port, stop = start_server()
    base = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    -- nothing may be left in flight for the next spec
    for _ = 1, 50 do
      if http.pending() == 0 then break end
      http.poll(0.1)
    end
    stop()
    for _, name in ipairs(PROXY_VARS) do
      sys.setenv(name, saved[name])
    end
  end)

  describe("request", function()
    it("sends method, headers and body exactly, and returns status, headers, body", function()
      local res = assert(http.request {
        method = "POST", url = base .. "/echo?a=1&b=2",
        headers = { { "Content-Type", "application/x-amz-json-1.1" }, { "X-Amz-Target", "Svc.Op" },
          { "X-Empty", "" } },
        body = '{"k":"v"}',
      })
      assert.equal(200, res.status)
      assert.equal("application/json", res.headers["content-type"])
      local echo = assert(json.decode(res.body))
      assert.equal("POST", echo.method)
      assert.equal("/echo?a=1&b=2", echo.path)
      assert.equal('{"k":"v"}', echo.body)
      local got = {}
      for _, h in ipairs(echo.headers) do got[h[1]:lower()] = h[2] end
      assert.equal("application/x-amz-json-1.1", got["content-type"])
      assert.equal("Svc.Op", got["x-amz-target"])
      assert.equal("", got["x-empty"])
      assert.equal("9", got["content-length"])
      -- curl adds nothing we did not ask for
      assert.is_nil(got["expect"])
      assert.is_nil(got["accept"])
      assert.is_nil(got["user-agent"])
    end)

    it("accepts a header map, sends Content-Length: 0 for an empty POST and no form type", function()
      local res = assert(http.request { method = "POST", url = base .. "/echo",
        headers = { ["X-A"] = "1" } })
      local echo = json.decode(res.body)
      local got = {}
      for _, h in ipairs(echo.headers) do got[h[1]:lower()] = h[2] end
      assert.equal("1", got["x-a"])
      assert.equal("0", got["content-length"])
      assert.is_nil(got["content-type"])
    end)

    it("supports GET, PUT, DELETE, HEAD and PATCH", function()
      for _, m in ipairs { "GET", "PUT", "DELETE", "PATCH" } do
        local res = assert(http.request { method = m, url = base .. "/echo", body = m == "GET" and nil or "b" })
        assert.equal(m, json.decode(res.body).method)
      end
      local res = assert(http.request { method = "HEAD", url = base .. "/bytes/10" })
      assert.equal(200, res.status)
      assert.equal("", res.body)
      assert.equal("10", res.headers["content-length"])
    end)

    it("treats HTTP error statuses as responses", function()
      local res, err = http.request { url = base .. "/status/503" }
      assert.is_nil(err)
      assert.equal(503, res.status)
      assert.equal("status body", res.body)
      assert.equal(404, http.request { url = base .. "/nope" }.status)
    end)

    it("joins repeated headers in the map and keeps each in header_list", function()
      local res = assert(http.request { url = base .. "/dup" })
      assert.equal("a=1, b=2", res.headers["set-cookie"])
      assert.equal("one, two", res.headers["x-dup"])
      local dups = {}
      for _, h in ipairs(res.header_list) do
        if h[1] == "X-Dup" then dups[#dups + 1] = h[2] end
      end
      assert.same({ "one", "two" }, dups)
    end)

    it("reuses one connection across calls (keep-alive)", function()
      http.request { url = base .. "/close" }  -- start from a fresh connection
      local before = http.stats()
      for _ = 1, 20 do
        assert.equal(200, http.request { url = base .. "/bytes/100" }.status)
      end
      local after = http.stats()
      assert.equal(20, after.requests - before.requests)
      assert.equal(1, after.connections_opened - before.connections_opened)
    end)

    it("opens a new connection when the server closes it", function()
      http.request { url = base .. "/close" }  -- no connection left open
      local before = http.stats().connections_opened
      http.request { url = base .. "/close" }
      http.request { url = base .. "/close" }
      assert.equal(2, http.stats().connections_opened - before)
    end)

    it("reads large and chunked bodies whole", function()
      local res = assert(http.request { url = base .. "/bytes/3000000" })
      assert.equal(3000000, #res.body)
      res = assert(http.request { url = base .. "/chunked/200000" })
      assert.equal(string.rep("y", 200000), res.body)
    end)
  end)

  describe("streaming (files)", function()
    local dir
    setup(function()
      dir = os.tmpname()
    end)
    teardown(function()
      os.remove(dir)
      os.remove(dir .. ".down")
    end)

    local function write(path, s)
      local f = assert(io.open(path, "wb"))
      f:write(s)
      f:close()
    end
    local function read(path)
      local f = assert(io.open(path, "rb"))
      local s = f:read("a")
      f:close()
      return s
    end

    it("sends a byte range of a file as the body, with its Content-Length and no Expect", function()
      write(dir, "0123456789abcdef")
      local res = assert(http.request { method = "PUT", url = base .. "/echo",
        upload = { path = dir, offset = 3, length = 5 } })
      local echo = json.decode(res.body)
      assert.equal("PUT", echo.method)
      assert.equal("34567", echo.body)
      local h = {}
      for _, kv in ipairs(echo.headers) do h[kv[1]:lower()] = kv[2] end
      assert.equal("5", h["content-length"])
      assert.is_nil(h.expect)
      res = assert(http.request { method = "POST", url = base .. "/echo", upload = { path = dir, length = 16 } })
      assert.equal("0123456789abcdef", json.decode(res.body).body)
    end)

    it("writes a 2xx body to a file without its size cap, and keeps error bodies in memory", function()
      local res = assert(http.request { url = base .. "/bytes/3000000", download = dir .. ".down", max_size = 1000 })
      assert.equal(3000000, res.downloaded)
      assert.equal("", res.body)
      assert.equal(string.rep("x", 3000000), read(dir .. ".down"))
      res = assert(http.request { url = base .. "/status/404", download = dir .. ".down" })
      assert.is_nil(res.downloaded)
      assert.equal("status body", res.body)
      write(dir .. ".down", "..........")
      res = assert(http.request { url = base .. "/bytes/4", download = { path = dir .. ".down", offset = 3 } })
      assert.equal(4, res.downloaded)
      assert.equal("...xxxx...", read(dir .. ".down"))
    end)

    it("reads a HEAD's Content-Length as no body, and sends dot segments as they are", function()
      local res = assert(http.request { method = "HEAD", url = base .. "/bytes/5000", max_size = 10 })
      assert.equal(200, res.status)
      res = assert(http.request { url = base .. "/echo/a/./b/../c" })
      assert.equal("/echo/a/./b/../c", json.decode(res.body).path)
    end)

    it("names a missing upload file, and refuses a body and a file at once", function()
      local ok, err = pcall(http.request, { method = "PUT", url = base .. "/echo",
        upload = { path = "/nonexistent/file", length = 1 } })
      assert.is_false(ok)
      assert.matches("/nonexistent/file: No such file", err)
      ok, err = pcall(http.request, { method = "PUT", url = base .. "/echo", body = "x",
        upload = { path = dir, length = 1 } })
      assert.is_false(ok)
      assert.matches("not both", err)
      ok, err = pcall(http.request, { method = "PUT", url = base .. "/echo", upload = { path = dir } })
      assert.is_false(ok)
      assert.matches("upload.length", err)
    end)
  end)

  describe("failures", function()
    it("returns nil, message, code for a refused connection, naming method and URL", function()
      local url = "http://127.0.0.1:" .. closed_port() .. "/path"
      local res, msg, code = http.request { method = "POST", url = url, body = "x" }
      assert.is_nil(res)
      assert.equal("CURLE_COULDNT_CONNECT", code)
      assert.matches("POST " .. url, msg, 1, true)
      assert.matches("Couldn't connect to server", msg, 1, true)
    end)

    it("times out", function()
      local t0 = clock.monotonic()
      local res, msg, code = http.request { url = base .. "/slow/2000", timeout = 0.3 }
      local dt = clock.monotonic() - t0
      assert.is_nil(res)
      assert.equal("CURLE_OPERATION_TIMEDOUT", code)
      assert.matches("GET " .. base .. "/slow/2000", msg, 1, true)
      assert.matches("[Tt]imeout", msg)
      assert.is_true(dt < 1.5, "took " .. dt)
    end)

    it("caps the response size (known length and chunked)", function()
      local res, msg, code = http.request { url = base .. "/bytes/5000", max_size = 1000 }
      assert.is_nil(res)
      assert.equal("CURLE_FILESIZE_EXCEEDED", code)
      assert.matches("larger than max_size (1000 bytes)", msg, 1, true)
      res, msg, code = http.request { url = base .. "/chunked/300000", max_size = 100000 }
      assert.is_nil(res)
      assert.equal("CURLE_FILESIZE_EXCEEDED", code)
      assert.matches("max_size (100000 bytes)", msg, 1, true)
      assert.equal(5000, #assert(http.request { url = base .. "/bytes/5000", max_size = 5000 }).body)
    end)

    it("fails on names that do not resolve", function()
      local res, msg, code = http.request { url = "http://nonexistent.invalid/", connect_timeout = 5 }
      assert.is_nil(res)
      assert.equal("CURLE_COULDNT_RESOLVE_HOST", code)
      assert.matches("nonexistent.invalid", msg, 1, true)
    end)

    it("fails the TLS handshake with a server that speaks plain HTTP", function()
      local port = base:match(":(%d+)$")
      local res, _, code = http.request { url = "https://127.0.0.1:" .. port .. "/", timeout = 5 }
      assert.is_nil(res)
      assert.equal("CURLE_SSL_CONNECT_ERROR", code)
    end)

    it("hides the query string (presigned secrets) in messages", function()
      local url = "http://127.0.0.1:" .. closed_port() .. "/p?X-Amz-Signature=SECRET&X-Amz-Security-Token=TOKEN"
      local _, msg = http.request { url = url }
      assert.not_matches("SECRET", msg, 1, true)
      assert.not_matches("TOKEN", msg, 1, true)
      assert.matches("/p?(query hidden)", msg, 1, true)
    end)
  end)

  describe("TLS and proxies", function()
    local dir, tls_port, tls_stop

    setup(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(sys.mkdir(dir))
      assert(os.execute("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        .. " -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem -days 1 -subj /CN=127.0.0.1"
        .. " -addext subjectAltName=IP:127.0.0.1 2>/dev/null"))
      tls_port, tls_stop = start_server("--tls " .. dir .. "/cert.pem " .. dir .. "/key.pem")
    end)

    teardown(function()
      sys.setenv("AWS_CA_BUNDLE", nil)
      sys.setenv("http_proxy", nil)
      sys.setenv("no_proxy", nil)
      tls_stop()
      os.execute("rm -rf " .. dir)
    end)

    it("refuses a certificate the trust store does not vouch for", function()
      sys.setenv("AWS_CA_BUNDLE", nil)
      local url = "https://127.0.0.1:" .. tls_port .. "/echo"
      local res, msg, code = http.request { url = url, timeout = 5 }
      assert.is_nil(res)
      assert.equal("CURLE_PEER_FAILED_VERIFICATION", code)
      assert.matches("GET " .. url, msg, 1, true)
    end)

    it("trusts the CA bundle named by AWS_CA_BUNDLE, and reuses the TLS connection", function()
      sys.setenv("AWS_CA_BUNDLE", dir .. "/cert.pem")
      local before = http.stats().connections_opened
      for _ = 1, 3 do
        local res = assert(http.request { url = "https://127.0.0.1:" .. tls_port .. "/echo", timeout = 5 })
        assert.equal(200, res.status)
        assert.equal("GET", json.decode(res.body).method)
      end
      assert.equal(1, http.stats().connections_opened - before)
    end)

    it("still checks the host name against the certificate", function()
      sys.setenv("AWS_CA_BUNDLE", dir .. "/cert.pem")
      local res, _, code = http.request { url = "https://localhost:" .. tls_port .. "/echo", timeout = 5 }
      assert.is_nil(res)
      assert.equal("CURLE_PEER_FAILED_VERIFICATION", code)
    end)

    it("reports an unreadable AWS_CA_BUNDLE", function()
      sys.setenv("AWS_CA_BUNDLE", dir .. "/missing.pem")
      local res, _, code = http.request { url = "https://127.0.0.1:" .. tls_port .. "/echo", timeout = 5 }
      sys.setenv("AWS_CA_BUNDLE", nil)
      assert.is_nil(res)
      assert.equal("CURLE_SSL_CACERT_BADFILE", code)
    end)

    it("goes through the proxy named by http_proxy, and around it for no_proxy", function()
      sys.setenv("http_proxy", base)
      local res = assert(http.request { url = "http://kumo-proxy-test.invalid/echo?x=1" })
      assert.equal("http://kumo-proxy-test.invalid/echo?x=1", json.decode(res.body).path)
      sys.setenv("http_proxy", "http://127.0.0.1:" .. closed_port())
      sys.setenv("no_proxy", "127.0.0.1")
      res = assert(http.request { url = base .. "/echo" })
      assert.equal("/echo", json.decode(res.body).path)
      sys.setenv("no_proxy", nil)
      local _, _, code = http.request { url = base .. "/echo" }
      assert.equal("CURLE_COULDNT_CONNECT", code)  -- the dead proxy
      sys.setenv("http_proxy", nil)
    end)
  end)

  describe("non-blocking", function()
    it("keeps several requests in flight and returns each completion once", function()
      local ids = {}
      local t0 = clock.monotonic()
      for i = 1, 5 do
        ids[http.start { url = base .. "/slow/300?i=" .. i }] = i
      end
      assert.equal(5, http.pending())
      local seen = 0
      while seen < 5 do
        local done = http.poll(5)
        for _, c in ipairs(done) do
          assert.truthy(ids[c.id], "unknown id")
          ids[c.id] = nil
          assert.equal(200, c.res.status)
          assert.equal("slept 300", c.res.body)
          seen = seen + 1
        end
      end
      local dt = clock.monotonic() - t0
      assert.is_true(dt < 1.2, "5 x 300 ms in parallel took " .. dt)
      assert.equal(0, http.pending())
      assert.same({}, http.poll(0))
    end)

    it("returns an empty list when nothing completes in time", function()
      local id = http.start { url = base .. "/slow/500" }
      local t0 = clock.monotonic()
      assert.same({}, http.poll(0.1))
      local dt = clock.monotonic() - t0
      assert.is_true(dt >= 0.09 and dt < 0.5, "poll waited " .. dt)
      local done = {}
      while #done == 0 do done = http.poll(2) end
      assert.equal(id, done[1].id)
    end)

    it("reports failures as {id, err, code}", function()
      local id = http.start { url = "http://127.0.0.1:" .. closed_port() .. "/" }
      local done = {}
      while #done == 0 do done = http.poll(2) end
      assert.equal(id, done[1].id)
      assert.is_nil(done[1].res)
      assert.equal("CURLE_COULDNT_CONNECT", done[1].code)
      assert.matches("Couldn't connect", done[1].err, 1, true)
    end)

    it("does not lose other completions while a blocking request waits", function()
      local fast = http.start { url = base .. "/slow/10" }
      local res = assert(http.request { url = base .. "/slow/400" })
      assert.equal("slept 400", res.body)
      assert.equal(1, http.pending())
      local done = http.poll(0)
      assert.equal(1, #done)
      assert.equal(fast, done[1].id)
      assert.equal("slept 10", done[1].res.body)
    end)

    it("cancels a request in flight", function()
      local id = http.start { url = base .. "/slow/1000" }
      assert.is_true(http.cancel(id))
      assert.is_false(http.cancel(id))
      assert.equal(0, http.pending())
      assert.same({}, http.poll(0.05))
    end)

    it("limits connections per host", function()
      -- close every idle connection first: the limit applies to new ones
      for _ = 1, 8 do http.start { url = base .. "/close" } end
      local n = 0
      while n < 8 do n = n + #http.poll(5) end
      http.configure { max_host = 1 }
      local before = http.stats().connections_opened
      local t0 = clock.monotonic()
      for _ = 1, 3 do http.start { url = base .. "/slow/200" } end
      n = 0
      while n < 3 do n = n + #http.poll(5) end
      local dt = clock.monotonic() - t0
      http.configure { max_host = 0, max_total = 0 }
      assert.is_true(dt >= 0.55, "3 x 200 ms on one connection took " .. dt)
      assert.equal(1, http.stats().connections_opened - before)
    end)

    it("limits connections in total", function()
      local function drain_idle()
        for _ = 1, 8 do http.start { url = base .. "/close" } end
        local n = 0
        while n < 8 do n = n + #http.poll(5) end
      end
      local function four_slow()
        local before = http.stats().connections_opened
        local t0 = clock.monotonic()
        for _ = 1, 4 do http.start { url = base .. "/slow/200" } end
        local n = 0
        while n < 4 do n = n + #http.poll(5) end
        return http.stats().connections_opened - before, clock.monotonic() - t0
      end
      drain_idle()
      http.configure { max_total = 2 }
      local opened, dt = four_slow()
      http.configure { max_host = 0, max_total = 0 }
      assert.equal(2, opened)
      assert.is_true(dt >= 0.38, "4 x 200 ms on two connections took " .. dt)
      drain_idle()
      opened = four_slow()  -- no limit: all four at once
      assert.equal(4, opened)
    end)
  end)

  describe("bad arguments", function()
    it("raise errors naming the field", function()
      local function err_of(req)
        local ok, e = pcall(http.request, req)
        assert.is_false(ok)
        return e
      end
      assert.matches("table expected", err_of("http://x"), 1, true)
      assert.matches("field 'url' must be a string, got nil", err_of({}), 1, true)
      assert.matches("url must start with http:// or https://", err_of({ url = "ftp://x/" }), 1, true)
      assert.matches("field 'method' must be a string", err_of({ url = base, method = 1 }), 1, true)
      assert.matches("method must be a word", err_of({ url = base, method = "GET /x" }), 1, true)
      assert.matches("field 'timeout' must be a positive number", err_of({ url = base, timeout = -1 }), 1, true)
      assert.matches("field 'headers' must be a table", err_of({ url = base, headers = "x" }), 1, true)
      assert.matches("CR or LF", err_of({ url = base, headers = { { "X", "a\r\nInjected: 1" } } }), 1, true)
      assert.matches("header value must be a string", err_of({ url = base, headers = { X = true } }), 1, true)
      assert.matches("field 'body' must be a string", err_of({ url = base, body = {} }), 1, true)
      assert.has_error(function() http.configure { max_total = -1 } end)
      assert.has_error(function() http.poll(-1) end)
      assert.equal(0, http.pending())
    end)
  end)
end)
