--- RDS helpers that are not API calls: the IAM database authentication
-- token (`aws rds generate-db-auth-token`, botocore's
-- `RDS.generate_db_auth_token`).
-- @module kumo.rds
local sigv4 = require "kumo.sigv4"

local M = {}

-- RFC 3986 unreserved characters stay, everything else is %XX (botocore's
-- percent_encode, safe "-_.~"): kumo.protocol.wire's, as every query string.
local encode = require("kumo.protocol.wire").urlencode

-- Credentials from a session (`session:credentials()` is its provider), a
-- provider (`:get()`), or a plain table.
local function credentials_of(source)
  if type(source) ~= "table" then
    error("generate_db_auth_token: the first argument must be a kumo session or credentials "
      .. "{ access_key_id=, secret_access_key=, session_token= }", 3)
  end
  if type(source.credentials) == "function" then source = source:credentials() end
  if type(source.get) == "function" then source = source:get() end
  if type(source.access_key_id) ~= "string" or type(source.secret_access_key) ~= "string" then
    error("generate_db_auth_token: no credentials (access_key_id and secret_access_key)", 3)
  end
  return source
end

--- An IAM authentication token for a database user: a SigV4 query
-- presign (service `rds-db`, 15 minutes) of
-- `https://HOST:PORT/?Action=connect&DBUser=USER`, without the scheme,
-- byte for byte as botocore makes it. Use it as the password, over TLS.
-- @param source a kumo session, a credentials provider, or a credentials table
-- @tparam table opts `hostname` (the endpoint's DNS name), `port`,
--   `username`, `region` (default: the session's), `time` (unix seconds,
--   default now; for tests)
-- @treturn string the token
-- @raise when a field is missing or wrong, naming it
function M.generate_db_auth_token(source, opts)
  opts = opts or {}
  for _, k in ipairs{ "hostname", "username" } do
    if type(opts[k]) ~= "string" or opts[k] == "" then
      error("generate_db_auth_token: " .. k .. " must be a non-empty string", 2)
    end
  end
  local port = math.tointeger(tonumber(opts.port))
  if not port or port < 1 or port > 65535 then
    error("generate_db_auth_token: port must be an integer from 1 to 65535", 2)
  end
  local region = opts.region or (type(source) == "table" and source.region)
  if type(region) ~= "string" or region == "" then
    error("generate_db_auth_token: region is needed (give region = \"...\", or a session with one)", 2)
  end
  local creds = credentials_of(source)
  local op = "Action=connect&DBUser=" .. encode(opts.username)
  local base = string.format("https://%s:%d/", opts.hostname, port)
  -- botocore signs the Host header without the default port
  local host = port == 443 and opts.hostname or (opts.hostname .. ":" .. port)
  local url, info = sigv4.presign{
    method = "GET", url = base .. "?" .. op, headers = { { "Host", host } },
    region = region, service = "rds-db", expires = 900, time = opts.time,
    access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key,
    session_token = creds.session_token,
  }
  -- botocore's order: the operation's parameters, then the auth ones in
  -- its fixed order, then the signature (kumo's URL has them sorted)
  local params = {}
  for k, v in (url:match("%?(.*)$") or ""):gmatch("([^&=]+)=([^&]*)") do params[k] = v end
  local out = { op }
  for _, k in ipairs{ "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                      "X-Amz-SignedHeaders", "X-Amz-Security-Token" } do
    if params[k] then out[#out + 1] = k .. "=" .. params[k] end
  end
  out[#out + 1] = "X-Amz-Signature=" .. info.signature
  return (base .. "?" .. table.concat(out, "&")):sub(#"https://" + 1)
end

return M
