-- Release hygiene: one version (KUMO_VERSION in include/kumo/host.h) read by
-- the binary, the Lua library and the User-Agent, and named by the docs;
-- LICENSE's copyright line filled in; the changelog has a section per session.
local root = os.getenv("KUMO_ROOT") or "."
local KUMO = root .. "/bin/kumo"

local function slurp(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local s = p:read("a")
  p:close()
  return s
end

local VERSION = slurp(root .. "/include/kumo/host.h"):match('#define%s+KUMO_VERSION%s+"([^"]+)"')

describe("release hygiene", function()
  it("has one version, in include/kumo/host.h", function()
    assert.truthy(VERSION and VERSION:match("^%d+%.%d+%.%d+$"), tostring(VERSION))
    local n = 0
    for _, dir in ipairs{ "src", "include", "modules" } do
      local hits = run("grep -rn 'define KUMO_VERSION\\|version = \"[0-9]' " .. root .. "/" .. dir)
      for _ in hits:gmatch("[^\n]+") do n = n + 1 end
    end
    assert.are.equal(1, n, "the version is set in more than one place")
  end)

  it("kumo version, require('kumo').version and the User-Agent give it", function()
    assert.are.equal("kumo " .. VERSION, run(KUMO .. " version"):match("^[^\n]+"))
    assert.are.equal(VERSION .. "\n", run(KUMO .. [[ -e 'print(require("kumo").version)']]))
    -- the User-Agent as sent: the wire log of a call that fails to connect
    local log = run("env -u AWS_PROFILE AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x"
      .. " AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
      .. KUMO .. " --debug call sts get-caller-identity --endpoint-url http://127.0.0.1:9")
    assert.truthy(log:find("User-Agent: kumo/" .. VERSION .. " lua/5.4", 1, true), log)
  end)

  it("the docs name the same version", function()
    assert.truthy(slurp(root .. "/CHANGELOG.md"):find("\n## [" .. VERSION .. "]", 1, true))
    assert.truthy(slurp(root .. "/docs/cli.md"):find("kumo " .. VERSION, 1, true))
    assert.truthy(slurp(root .. "/README.md"):find("(" .. VERSION .. ",", 1, true))
  end)

  it("LICENSE has no template placeholder; the changelog a section per session", function()
    local lic = slurp(root .. "/LICENSE")
    assert.is_nil(lic:find("[yyyy]", 1, true))
    assert.truthy(lic:find("Copyright 2026 The kumo authors", 1, true))
    local log = slurp(root .. "/CHANGELOG.md")
    local n = 0
    for _ in log:gmatch("\n### Session %d") do n = n + 1 end
    assert.is_true(n >= 3, "sessions in CHANGELOG.md: " .. n)
  end)

  it("make deps checks the Python tools and names the install command", function()
    local out = run("{ KUMO_PYTHON=/nonexistent/python3 sh " .. root .. "/tools/deps.sh; echo rc=$?; }")
    assert.truthy(out:find("/nonexistent/python3 not found", 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
  end)
end)
