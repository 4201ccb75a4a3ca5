--- Compare kumo's configured-endpoint resolution with botocore's
-- (tests/endpoints/botocore_configured.py): the same environment, config
-- file and client endpoint_url must give the same URL (or both an error).
-- Usage: kumo run tests/endpoints/compare_configured.lua < cases.jsonl
local json = require "kumo.json"
local aws = require "kumo.aws"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local cfg = dir .. "/config"

local passed, failed = 0, 0
for line in io.lines() do
  local c = json.decode(line)
  local f = assert(io.open(cfg, "w"))
  f:write(c.config)
  f:close()
  local env = {}
  for k, v in pairs(c.env) do env[k] = v end
  local client_url = c.client_url ~= json.null and c.client_url or nil
  local ok, got = pcall(function()
    local s = aws.session{ profile = "p", config_file = cfg, credentials_file = dir .. "/none",
      env = env, credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "x" } }
    local client = s:client(c.service, client_url and { endpoint_url = client_url } or nil)
    return client:endpoint().url
  end)
  local want = c.url ~= json.null and c.url or nil
  local good
  if want then good = ok and got == want else good = not ok end
  if good then
    passed = passed + 1
  else
    failed = failed + 1
    print(string.format("MISMATCH %s env=%s client=%s config=%q: botocore %s, kumo %s", c.service,
      json.encode(c.env), tostring(client_url), c.config, tostring(want or c.error),
      ok and got or ("error: " .. tostring(got))))
  end
end
os.execute("rm -rf " .. dir)
print(string.format("%d passed, %d failed", passed, failed))
