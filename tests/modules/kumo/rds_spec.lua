-- kumo.rds.generate_db_auth_token, byte for byte against botocore's
-- RDS.generate_db_auth_token at a fixed time with fixed credentials
-- (tests/modules/kumo/rds_token_botocore.py makes the expected tokens).
local root = os.getenv("KUMO_ROOT") or "."
local rds = require "kumo.rds"
local json = require "kumo.json"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

describe("kumo.rds.generate_db_auth_token", function()
  local p = assert(io.popen("python3 " .. root .. "/tests/modules/kumo/rds_token_botocore.py"))
  local cases = assert(json.decode(p:read("a")))
  p:close()

  it("has botocore's cases", function() assert.truthy(#cases >= 5) end)

  for i, c in ipairs(cases) do
    it(string.format("equals botocore's token: case %d (%s:%d, user %s)", i, c.host, c.port, c.user), function()
      local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET,
                      session_token = c.token ~= json.null and c.token or nil }
      local tok = rds.generate_db_auth_token(creds, { hostname = c.host, port = c.port, username = c.user,
                                                      region = c.region, time = c.time })
      assert.are.equal(c.expect, tok)
    end)
  end

  it("takes the credentials and region of a session", function()
    local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET }
    local session = { region = cases[1].region, credentials = function() return { get = function() return creds end } end }
    local tok = rds.generate_db_auth_token(session, { hostname = cases[1].host, port = cases[1].port,
                                                      username = cases[1].user, time = cases[1].time })
    assert.are.equal(cases[1].expect, tok)
  end)

  it("names the field that is wrong", function()
    local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET }
    assert.has_error(function() rds.generate_db_auth_token(creds, { hostname = "h", port = 0, username = "u", region = "r" }) end,
      "generate_db_auth_token: port must be an integer from 1 to 65535")
    assert.has_error(function() rds.generate_db_auth_token(creds, { port = 5432, username = "u", region = "r" }) end,
      "generate_db_auth_token: hostname must be a non-empty string")
    assert.has_error(function() rds.generate_db_auth_token(creds, { hostname = "h", port = 5432, username = "u" }) end,
      'generate_db_auth_token: region is needed (give region = "...", or a session with one)')
  end)
end)
