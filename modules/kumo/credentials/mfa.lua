--- kumo.credentials.mfa: MFA token codes, asked once per run.
--
-- A code comes from, in order: the session's `mfa` option (a function
-- `(serial) → code`, or a string code), `KUMO_MFA_CODE` in the
-- environment, or a prompt on the terminal (`/dev/tty`). With long-term
-- source keys, kumo trades the code for an MFA session (GetSessionToken)
-- once and assumes every role that needs that device from it, so one
-- prompt serves the whole run (see assume_role.lua).
-- @module kumo.credentials.mfa
local M = {}

--- Ask for a code for `serial`.
-- @param ctx the credentials context (`ctx.mfa`, `ctx.getenv`)
-- @param serial the MFA device ARN or serial
-- @param why who needs it, for the prompt and errors (e.g. `profile "admin"`)
-- @return the code (6 digits); raises explaining how to provide one
function M.code(ctx, serial, why)
  local cb = ctx.mfa
  if type(cb) == "function" then
    local code = cb(serial, why)
    if type(code) ~= "string" and type(code) ~= "number" then
      error(string.format("%s: the mfa callback returned no code for %s", why, serial), 0)
    end
    return tostring(code)
  elseif type(cb) == "string" or type(cb) == "number" then
    return tostring(cb)
  end
  local env = ctx.getenv("KUMO_MFA_CODE")
  if env and env ~= "" then return env end
  local path = ctx.tty or "/dev/tty"                  -- ctx.tty: tests
  local input = io.open(path, "r")
  if not input then
    error(string.format("%s needs an MFA code for %s and there is no terminal: pass "
      .. "aws.session{ mfa = function(serial) return code end } or set KUMO_MFA_CODE", why, serial), 0)
  end
  local output = io.open(path, "a")
  if output then
    output:write(string.format("Enter MFA code for %s (%s): ", serial, why))
    output:close()
  end
  local line = input:read("l")
  input:close()
  local code = line and line:match("^%s*(%S+)%s*$")
  if not code then error(string.format("%s: no MFA code entered for %s", why, serial), 0) end
  return code
end

return M
