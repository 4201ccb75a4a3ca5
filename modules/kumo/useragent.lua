--- kumo.useragent: the User-Agent kumo sends (`kumo/VERSION lua/5.4`, plus
-- `app/ID` for a session with an app id), one place for the client calls
-- and the calls for credentials.
-- @module kumo.useragent
local M = {}

--- kumo's User-Agent without an app id (the host's version and Lua's).
M.BASE = "kumo/" .. tostring(require("kumo.sys").version) .. " lua/" .. _VERSION:match("%d+%.%d+")

--- An app id as botocore writes it (sanitize_user_agent_string_component
-- with allow_hash): characters outside its set become "-".
-- @tparam string id
-- @treturn string
function M.app_id(id)
  return (id:gsub("[^%w!$%%&'*+%-.^_`|~,#]", "-"))
end

--- The User-Agent with an app id (nil: the base).
-- @tparam[opt] string id
-- @treturn string
function M.with_app(id)
  return id and (M.BASE .. " app/" .. M.app_id(id)) or M.BASE
end

return M
