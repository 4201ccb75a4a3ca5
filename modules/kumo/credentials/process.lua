--- kumo.credentials.process: credentials from an external command
-- (`credential_process` in a profile). The command runs through the shell;
-- its stdout must be JSON `{"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ...,
-- "SessionToken": ..., "Expiration": "ISO 8601", "AccountId": ...}`. A non-zero exit
-- is an error (quoting the first lines of its stderr). With `Expiration`
-- the credentials are refreshed by running the command again before then.
-- @module kumo.credentials.process
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local fetch = require "kumo.credentials.fetch"

local M = {}

local Process = {}
Process.__index = Process

--- @param ctx the context
-- @param command the command line
-- @param what who configured it, for messages (e.g. `profile "ci" (file:line)`)
function M.new(ctx, command, what)
  if type(command) ~= "string" or command:match("^%s*$") then
    error((what or "credential_process") .. ": credential_process is empty; give the command to run", 0)
  end
  local self = setmetatable({ name = "process", label = (what or "credential_process") .. " credential_process",
    command = command, what = what or "credential_process", ctx = ctx, runs = 0 }, Process)
  self.cache = cache.new{ name = self.label, warn = ctx.warn,
    advisory = ctx.advisory, mandatory = ctx.mandatory, fetch = function() return self:fetch() end }
  return self
end

--- The provider for a profile's `credential_process`.
function M.from_profile(ctx, name)
  local p = ctx.view:profile(name)
  return M.new(ctx, p.credential_process, string.format("profile %q (%s)", name,
    ctx.view:where(name, "credential_process")))
end

local function first_lines(s, n)
  local out = {}
  for line in s:gmatch("[^\n]+") do
    out[#out + 1] = line
    if #out >= n then break end
  end
  return table.concat(out, " | "):sub(1, 400)
end

--- Run the command and parse its output.
function Process:fetch()
  self.runs = self.runs + 1
  local errfile = os.tmpname()
  local p, perr = io.popen(self.command .. " 2>" .. errfile, "r")
  if not p then
    os.remove(errfile)
    error(string.format("%s: cannot run %q: %s", self.what, self.command, tostring(perr)), 0)
  end
  local out = p:read("a") or ""
  local ok, how, status = p:close()
  local stderr = fetch.read_file(errfile) or ""
  os.remove(errfile)
  if not ok then
    error(string.format("%s: credential_process %q %s %s%s", self.what, self.command,
      how == "signal" and "was killed by signal" or "exited with status", tostring(status),
      stderr ~= "" and (": " .. first_lines(stderr, 3)) or ""), 0)
  end
  local t = fetch.decode(out, string.format("%s: the output of credential_process %q", self.what, self.command))
  if t.Version ~= 1 then
    error(string.format("%s: credential_process %q printed Version %s; only Version 1 is supported",
      self.what, self.command, tostring(t.Version)), 0)
  end
  for _, k in ipairs{ "AccessKeyId", "SecretAccessKey" } do
    if type(t[k]) ~= "string" or t[k] == "" then
      error(string.format("%s: credential_process %q printed no %s", self.what, self.command, k), 0)
    end
  end
  return creds.new{ access_key_id = t.AccessKeyId, secret_access_key = t.SecretAccessKey,
    session_token = t.SessionToken, expiration = t.Expiration, account_id = t.AccountId,
    source = self.label }
end

function Process:get() return self.cache:get() end
Process.load = Process.get
function Process:invalidate() self.cache:invalidate() end

return M
