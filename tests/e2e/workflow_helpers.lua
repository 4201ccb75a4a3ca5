--- Helpers shared by the workflow's end-to-end specs: run the workflow
-- script against a sandbox (in the foreground or in the background, to
-- signal or kill it), inspect a pair independently with boto3
-- (tests/e2e/inspect_pair.py), edit the seeded config, write a journal.
-- @module tests.e2e.workflow_helpers
local json = require "kumo.json"
local clock = require "kumo.clock"

local M = {}

local root = os.getenv("KUMO_ROOT") or "."
M.SCRIPT = root .. "/scripts/rds-proxy-share.lua"
M.KUMO = root .. "/bin/kumo"

function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local q = M.q

--- The `env ...` prefix that points a command at the sandbox (and only it).
local function env_prefix(sb)
  local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN" }
  for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
  return table.concat(parts, " ")
end
M.env_prefix = env_prefix

local function slurp(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

function M.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- Run the workflow in the foreground: exit code, stdout, stderr.
function M.run(sb, args)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s run %s %s >%s 2>%s", env_prefix(sb), M.KUMO, M.SCRIPT,
    args, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

--- Start the workflow in the background. Returns a handle with `pid`,
-- `signal(name)`, `running()`, `wait(timeout)` → code, stdout, stderr.
function M.spawn(sb, args)
  local base = os.tmpname()
  local h = { out = base .. ".out", err = base .. ".err", pidf = base .. ".pid", rcf = base .. ".rc" }
  os.remove(base)
  os.execute(string.format("( %s %s run %s %s >%s 2>%s & echo $! >%s; wait $!; echo $? >%s ) >/dev/null 2>&1 &",
    env_prefix(sb), M.KUMO, M.SCRIPT, args, h.out, h.err, h.pidf, h.rcf))
  for _ = 1, 200 do
    h.pid = tonumber(slurp(h.pidf):match("%d+"))
    if h.pid then break end
    clock.sleep(0.01)
  end
  assert(h.pid, "the workflow did not start")
  function h.signal(name) os.execute("kill -" .. name .. " " .. h.pid .. " 2>/dev/null") end
  function h.running() return slurp(h.rcf) == "" end
  function h.wait(timeout)
    local deadline = clock.monotonic() + (timeout or 600)
    while h.running() do
      if clock.monotonic() > deadline then
        h.signal("KILL")
        error("the workflow did not end within " .. tostring(timeout) .. " s", 2)
      end
      clock.sleep(0.05)
    end
    local code = tonumber(slurp(h.rcf):match("%d+"))
    local o, e = slurp(h.out), slurp(h.err)
    for _, f in ipairs{ h.out, h.err, h.pidf, h.rcf } do os.remove(f) end
    return code, o, e
  end
  return h
end

--- The boto3 inspection of a pair (see inspect_pair.py).
function M.inspect(sb, pair, secret_name)
  local p = io.popen(string.format("python3 %s %s %s %s 2>&1", q(root .. "/tests/e2e/inspect_pair.py"),
    q(sb.dir), q(pair), secret_name and q(secret_name) or ""))
  local text = p:read("a")
  p:close()
  local doc = json.decode(text)
  assert(type(doc) == "table", "inspect_pair.py: " .. text)
  return doc
end

--- The JSON of a secret in the RDS account (read with boto3), as a table.
function M.secret_json(sb, arn)
  local py = "import boto3,os,sys; os.environ['AWS_CONFIG_FILE']=sys.argv[1]+'/config'; "
    .. "os.environ['AWS_SHARED_CREDENTIALS_FILE']=sys.argv[1]+'/credentials'; "
    .. "c=boto3.session.Session(profile_name='rds').client('secretsmanager', endpoint_url=sys.argv[2]); "
    .. "print(c.get_secret_value(SecretId=sys.argv[3])['SecretString'])"
  local p = io.popen(string.format("env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "
    .. "python3 -c %s %s %s %s 2>&1", q(py), q(sb.dir), q(sb.endpoint), q(arn)))
  local text = p:read("a")
  p:close()
  local doc = json.decode(text)
  assert(type(doc) == "table", "reading the secret: " .. text)
  return doc
end

--- Assert exactly one of each resource of the pair (or zero of each).
function M.assert_count(sb, pair, n, secret_name)
  local doc = M.inspect(sb, pair, secret_name)
  local keys = { "share", "proxy", "endpoint", "proxy_sg", "endpoint_sg", "role" }
  if secret_name then keys[#keys + 1] = "secret" end
  local bad = {}
  for _, k in ipairs(keys) do
    if doc[k] ~= n then bad[#bad + 1] = k .. "=" .. tostring(doc[k]) end
  end
  assert(#bad == 0, "expected " .. n .. " of each for " .. pair .. ", found " .. table.concat(bad, ", ")
    .. "\n" .. json.encode(doc))
  return doc
end

--- The seeded world's workflow config with one change applied to its text.
function M.config_with(sb, transform, name)
  local text = slurp(sb.dir .. "/workflow.lua")
  local path = sb.dir .. "/" .. (name or "variant") .. ".lua"
  M.write(path, transform and transform(text) or text)
  return path
end

--- Read a pair's journal (nil when there is none).
function M.journal(dir, pair)
  local text = slurp(dir .. "/" .. pair .. ".json")
  if text == "" then return nil end
  return json.decode(text)
end

--- Write a pair's journal.
function M.write_journal(dir, pair, data)
  M.write(dir .. "/" .. pair .. ".json", json.encode(data))
end

--- Mutating calls the sandbox has counted so far.
function M.mutating(sb)
  return sb.stats().mutating
end

--- Kill -9 the workflow right after the sandbox counted its `n`th
-- mutating call (the call may or may not have acted yet). Returns the
-- exit code and stderr (137 when killed, else the run ended first).
function M.kill_after_calls(sb, args, n)
  local base = M.mutating(sb)
  local h = M.spawn(sb, args)
  while h.running() do
    if M.mutating(sb) - base >= n then
      h.signal("KILL")
      break
    end
    clock.sleep(0.02)
  end
  local code, _, err = h.wait(600)
  return code, err
end

-- What every boto3 snippet starts with: sessions of the sandbox's two
-- accounts, the seeded world, and `out(v)` to print the result.
local BOTO3_HEAD = [==[
import boto3, json, sys
app = boto3.Session(profile_name="app")
rds = boto3.Session(profile_name="rds")
W = json.load(open(sys.argv[1]))
def out(v):
    print(json.dumps(v, default=str))
]==]

--- Run a boto3 snippet (`prelude` then `code`, after the common head:
-- `app`, `rds`, `W`, `out`) against the sandbox and decode the JSON its last
-- printed line holds: the independent reader of the workflow specs.
function M.boto3(sb, prelude, code)
  local file = os.tmpname()
  M.write(file, BOTO3_HEAD .. prelude .. code)
  local p = io.popen(env_prefix(sb) .. " python3 " .. file .. " " .. M.q(sb.dir .. "/world.json") .. " 2>&1")
  local text = p:read("a")
  p:close()
  os.remove(file)
  local last = text:match("([^\n]*)\n?$")
  local ok, v = pcall(require("kumo.json").decode, last)
  assert(ok and v ~= nil, "boto3 helper failed:\n" .. text)
  return v
end

--- Assert that `text` holds `needle` (plain), showing the text when not.
function M.has(text, needle)
  assert(text:find(needle, 1, true), "expected «" .. needle .. "» in:\n" .. text)
end

return M
