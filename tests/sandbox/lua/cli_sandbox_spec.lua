-- The `kumo sandbox` command (modules/kumo/cli/sandbox.lua).
local cli = require("kumo.cli.sandbox")
local kumo = (os.getenv("KUMO_ROOT") or ".") .. "/bin/kumo"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), out
end

describe("kumo sandbox command", function()
  it("runs python3 -m kumo_sandbox with the arguments after 'sandbox'", function()
    assert.are.same({ "python3", "-m", "kumo_sandbox", "--port", "0", "--no-org" },
      cli.argv({ "--port", "0", "--no-org" }))
    assert.truthy(cli.package_dir():find("/sandbox$"))
  end)

  it("passes --help through and exits 0", function()
    local rc, out = run(kumo .. " sandbox --help")
    assert.are.equal(0, rc)
    assert.truthy(out:find("--faults", 1, true))
    assert.truthy(out:find("--lifecycle", 1, true))
  end)

  it("says where the package should be when it is missing", function()
    local rc, out = run("KUMO_SANDBOX_PATH=/nonexistent " .. kumo .. " sandbox --check")
    assert.are.equal(1, rc)
    assert.truthy(out:find("the sandbox package is missing: /nonexistent/kumo_sandbox", 1, true))
  end)

  it("exits 2 on a bad option, naming it", function()
    local rc, out = run(kumo .. " sandbox --lifecycle proxy=later --dir /tmp/kumo-cli-sandbox-spec")
    assert.are.equal(2, rc)
    assert.truthy(out:find("lifecycle:", 1, true))
  end)
end)
