--- The AWS `ec2` protocol: a form body like `query`, but member names come
-- from `queryName` or the capitalized `locationName`, lists are `Name.N`
-- (never `.member.N`, empty lists are not sent), responses have no result
-- wrapper, and errors are `<Response><Errors><Error>`.
-- @module kumo.protocol.ec2
local query = require "kumo.protocol.query"

local M = {}

--- Serialize a request. See the protocol contract in docs/architecture.md.
function M.serialize(service, op, params, ctx)
  return query.form_request(service, op, params, ctx, true)
end

--- Parse a successful response (the members sit right under the root).
function M.parse(service, op, res)
  return query.parse(service, op, res)
end

--- Parse an error response → `{code, message, request_id, fields}`.
function M.parse_error(service, op, res)
  return query.parse_error(service, op, res)
end

return M
