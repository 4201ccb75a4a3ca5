-- `kumo sandbox --detach` / `kumo sandbox stop --dir DIR`, and env.sh: with
-- it sourced, the AWS CLI, boto3 and kumo reach the sandbox through the
-- environment alone (a config file without endpoint_url, as Terraform's
-- provider reads it), STS included through AWS_ENDPOINT_URL_STS.
local root = os.getenv("KUMO_ROOT") or "."
local KUMO = root .. "/bin/kumo"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function sh(script)
  local out = os.tmpname()
  local _, _, code = os.execute("env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY"
    .. " -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u KUMO_SANDBOX_DIR KUMO_CREDENTIAL_CACHE=off sh -c "
    .. q(script) .. " >" .. out .. " 2>&1 </dev/null")
  local o = slurp(out)
  os.remove(out)
  return code, o
end

local function alive(pid) return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true end

describe("kumo sandbox --detach / stop and env.sh", function()
  local dir, pid
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    dir = dir .. "-detached"
  end)
  teardown(function()
    -- whatever a failed test left running
    local p = tonumber((slurp(dir .. "/sandbox.pid") or ""):match("%d+"))
    if p and alive(p) then os.execute("kill -KILL " .. p) end
    os.execute("rm -rf " .. q(dir))
  end)

  it("starts in the background, writes a pidfile and returns", function()
    local code, out = sh(KUMO .. " sandbox --detach --port 0 --dir " .. q(dir))
    assert.are.equal(0, code, out)
    assert.truthy(out:find("export AWS_ENDPOINT_URL_STS=http://127.0.0.1:", 1, true), out)
    assert.truthy(out:find("kumo sandbox stop --dir " .. dir, 1, true), out)
    pid = tonumber(slurp(dir .. "/sandbox.pid"):match("%d+"))
    assert.truthy(pid and alive(pid))
    assert.truthy(slurp("/proc/" .. pid .. "/cmdline"):find("kumo_sandbox", 1, true))
    local c2, health = sh(KUMO .. " sandbox --check --dir " .. q(dir))
    assert.are.equal(0, c2, health)
    assert.truthy(health:find("pid " .. pid, 1, true), health)
    -- a second one from the same directory is refused
    local c3, again = sh(KUMO .. " sandbox --detach --port 0 --dir " .. q(dir))
    assert.are.equal(1, c3)
    assert.truthy(again:find("already running", 1, true), again)
  end)

  it("env.sh exports what the AWS CLI, boto3, Terraform and kumo need", function()
    local env = slurp(dir .. "/env.sh")
    local endpoint = env:match("export AWS_ENDPOINT_URL=(%S+)")
    for _, line in ipairs{ "AWS_ENDPOINT_URL_STS=" .. endpoint, "AWS_ENDPOINT_URL_IAM=" .. endpoint,
                           "AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_CONFIG_FILE=",
                           "AWS_SHARED_CREDENTIALS_FILE=", "AWS_EC2_METADATA_DISABLED=true",
                           "AWS_STS_REGIONAL_ENDPOINTS=regional", "AWS_PAGER=" } do
      assert.truthy(env:find("export " .. line, 1, true), line .. " missing in\n" .. env)
    end
    -- a config without endpoint_url: the environment alone points the tools at the sandbox
    local plain = dir .. "/plain-config"
    local f = io.open(plain, "w")
    f:write("[profile base]\nregion = ap-northeast-1\n")
    f:close()
    local prefix = ". " .. q(dir .. "/env.sh") .. " && export AWS_CONFIG_FILE=" .. q(plain) .. " && "
    local checks = {
      aws = "aws --profile base sts get-caller-identity --query Account --output text",
      boto3 = [[python3 -c "import boto3; print(boto3.Session(profile_name='base').client('sts').get_caller_identity()['Account'])"]],
      kumo = KUMO .. " call --profile base sts get-caller-identity --query Account --output text",
      -- only the STS variable left: STS still goes to the sandbox
      sts_only = "unset AWS_ENDPOINT_URL && " .. [[python3 -c "import boto3; print(boto3.Session(profile_name='base').client('sts').get_caller_identity()['Account'])"]],
      kumo_sts_only = "unset AWS_ENDPOINT_URL && " .. KUMO
        .. " call --profile base sts get-caller-identity --query Account --output text",
    }
    for name, cmd in pairs(checks) do
      local code, out = sh(prefix .. cmd)
      assert.are.equal(0, code, name .. ": " .. out)
      assert.are.equal("123456789012\n", out, name)
    end
  end)

  it("stop --dir ends it and removes the pidfile; a second stop says there is none", function()
    local code, out = sh(KUMO .. " sandbox stop --dir " .. q(dir))
    assert.are.equal(0, code, out)
    assert.truthy(out:find("stopped pid " .. pid, 1, true), out)
    assert.is_false(alive(pid))
    assert.is_nil(slurp(dir .. "/sandbox.pid"))
    code, out = sh(KUMO .. " sandbox stop --dir " .. q(dir))
    assert.are.equal(1, code)
    assert.truthy(out:find("no pidfile", 1, true), out)
  end)
end)
