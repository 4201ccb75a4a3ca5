-- The workflow's config and CLI edges end to end, the real CLI on a
-- sandbox (SigV4 and IAM checks on): hostile and invalid configs exit 2
-- with one line and make no AWS call at all (sandbox statistics) and touch
-- no file; bad output paths are refused before any call; the topology
-- graph of an apply names every resource of the run and no `nil`.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local hostile = dofile(root .. "/tests/scripts/hostile_configs.lua")
local json = require "kumo.json"

local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local KUMO, q, run, write = h.KUMO, h.q, h.run, h.write

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end


-- Every file under dir with its size and mtime, one per line, sorted.
local function listing(dir)
  local p = io.popen("find " .. q(dir) .. " -printf '%P %s %T@\\n' | sort")
  local s = p:read("a")
  p:close()
  return s
end

describe("rds-proxy-share config and CLI edges on the sandbox", function()
  local sb, cfg

  setup(function()
    sb = sandbox.start{ lifecycle = "all=1" }
    -- The assume-role file cache is keyed by the AssumeRole arguments, the
    -- same in every sandbox: a session cached by an earlier sandbox would be
    -- refused by this one, so it stays off here.
    sb.env.KUMO_CREDENTIAL_CACHE = "off"
    cfg = sb.dir .. "/workflow.lua"
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("refuses every hostile config with one line, exit 2, no AWS call and no file touched", function()
    local seeded = read(cfg):match("return (%b{})")
    assert.truthy(seeded, "the sandbox's workflow.lua returns a table")
    local cases_dir = sb.dir .. "/hostile"
    os.execute("mkdir -p " .. q(cases_dir))
    local paths = {}
    for i, case in ipairs(hostile.cases) do
      paths[i] = string.format("%s/case%d.lua", cases_dir, i)
      write(paths[i], (case.text:gsub("%%BASE%%", function() return seeded end)
                                :gsub("%%OUT%%", function() return sb.dir .. "/touched" .. i end)))
    end
    local before_files = listing(sb.dir)
    local before = sb.stats().total
    for i, case in ipairs(hostile.cases) do
      local code, out, err = run(sb, "apply --config " .. q(paths[i]))
      local want = case.message:gsub("%%FILE%%", function() return paths[i] end)
      if case.phase == "load" then
        want = "rds-proxy-share: config: " .. want .. "\n"
      else
        want = "rds-proxy-share: " .. paths[i] .. ": " .. want .. " (nothing was changed)\n"
      end
      assert.are.equal(2, code, case.name .. ":\n" .. out .. err)
      assert.are.equal(want, err, case.name)
      assert.are.equal("", out, case.name)
      assert.is_nil(read(sb.dir .. "/touched" .. i), case.name .. " touched a file")
    end
    assert.are.equal(before, sb.stats().total, "hostile configs must make no AWS call at all")
    assert.are.equal(before_files, listing(sb.dir), "no file was created or changed (no journal folder either)")
  end)

  it("checks --state and --graph before any AWS call", function()
    local before = sb.stats().total
    local code, out, err = run(sb, "plan --config " .. q(cfg) .. " --state /dev/null")
    assert.are.equal(2, code, out .. err)
    assert.are.equal("rds-proxy-share: --state /dev/null is not a folder; give a folder for the journal "
      .. "(it is created when missing)\n", err)
    code, out, err = run(sb, "plan --config " .. q(cfg) .. " --graph " .. q(sb.dir .. "/no/such/dir/g.dot"))
    assert.are.equal(2, code, out .. err)
    assert.are.equal("rds-proxy-share: --graph " .. sb.dir .. "/no/such/dir/g.dot: the folder " .. sb.dir
      .. "/no/such/dir does not exist; create it or choose another path\n", err)
    code, out, err = run(sb, "plan --config " .. q(cfg) .. " --graph " .. q(sb.dir))
    assert.are.equal(2, code, out .. err)
    assert.truthy(err:find("is not a regular file", 1, true), err)
    assert.are.equal(before, sb.stats().total, "refused before any AWS call")
    assert.falsy(err:find("%.lua:%d+:"), "no internal file locations: " .. err)
  end)

  it("draws the applied topology from live facts: every id of the run, no nil, dashed when absent", function()
    local dotfile = sb.dir .. "/plan.dot"
    local code, out, err = run(sb, "plan --pair orders-pg --config " .. q(cfg) .. " --graph " .. q(dotfile))
    assert.are.equal(0, code, out .. err)
    local dot = assert(read(dotfile))
    assert.falsy(dot:find("nil", 1, true), dot)
    -- nothing exists yet: the proxy, its endpoint and SGs are planned, dashed
    assert.truthy(dot:find('"orders%-pg:proxy" %[shape=component, label="RDS Proxy orders%-pg%-proxy[^]]*style="dashed"'), dot)
    assert.truthy(dot:find("(planned)", 1, true), dot)

    dotfile = sb.dir .. "/apply.dot"
    code, out, err = run(sb, "apply --pair orders-pg --output json --config " .. q(cfg) .. " --graph " .. q(dotfile))
    assert.are.equal(0, code, out .. err)
    local doc = json.decode(out)
    dot = assert(read(dotfile))
    assert.falsy(dot:find("nil", 1, true), dot)
    assert.falsy(dot:find("dashed", 1, true), "everything exists after apply:\n" .. dot)
    local ids = {}
    for _, a in ipairs(doc.pairs[1].actions) do
      if type(a.id) == "string" then ids[#ids + 1] = a.id end
    end
    assert.truthy(#ids >= 9, "the run reported its ids")
    -- what the run found: accounts, VPCs, subnets, client and DB SGs, the database
    local function ids_in(t, acc)
      acc = acc or {}
      for _, v in pairs(t) do
        if type(v) == "table" then ids_in(v, acc)
        elseif type(v) == "string" and (v:match("^vpc%-") or v:match("^subnet%-") or v:match("^sg%-")) then
          acc[#acc + 1] = v
        end
      end
      return acc
    end
    local seeded = ids_in(assert(load("return " .. read(cfg):match("return (%b{})"), "cfg", "t", {}))().pairs[1])
    for _, id in ipairs(seeded) do ids[#ids + 1] = id end
    ids[#ids + 1] = "111111111111"
    ids[#ids + 1] = "222222222222"
    for _, id in ipairs(ids) do
      for piece in id:gmatch("[^ <%-]+[^ ]*") do  -- "sg-a <- sg-b" is two ids
        if piece ~= "<-" then
          assert.truthy(dot:find(piece, 1, true), "the graph names " .. piece .. ":\n" .. dot)
        end
      end
    end
    assert.truthy(dot:find("AZ ID ", 1, true), "subnets carry their AZ IDs")
    assert.truthy(dot:find("allows tcp/5432", 1, true), "the client -> endpoint SG flow")
    assert.truthy(dot:find("postgres port 5432", 1, true), "the database with engine and port")
    assert.truthy(dot:find('"orders%-pg:sg%-%x+" %-> "orders%-pg:epsg"'), "client SG -> endpoint SG edge")
    assert.truthy(dot:find('"orders%-pg:proxysg" %-> "orders%-pg:sg%-%x+" %[label="allows tcp/5432"'),
      "proxy SG -> DB SG edge")
    local svg = read(sb.dir .. "/apply.svg")
    assert.truthy(svg and svg:find("<svg", 1, true), "SVG written by Graphviz")
    assert.truthy(err:find("graph written: " .. dotfile .. ", " .. sb.dir .. "/apply.svg", 1, true), err)

    code, out, err = run(sb, "destroy --pair orders-pg --config " .. q(cfg) .. " --graph " .. q(sb.dir .. "/gone.dot"))
    assert.are.equal(0, code, out .. err)
    dot = assert(read(sb.dir .. "/gone.dot"))
    assert.truthy(dot:find("(deleted)", 1, true), dot)
    assert.falsy(dot:find("nil", 1, true), dot)
  end)

  it("assumes the pair's roles from base_profile (it used to fall back to the default profile)", function()
    local roles = sb.world.roles
    local text = read(cfg)
      :gsub('profile = "app",', string.format('role_arn = %q, external_id = %q,', roles.app.arn, roles.app.external_id))
      :gsub('profile = "rds",', string.format('account_role_arn = %q, external_id = %q,', roles.rds.arn, roles.rds.external_id))
      :gsub("region = ", 'base_profile = "base",\n  region = ', 1)
    local path = sb.dir .. "/roles.lua"
    write(path, text)
    local code, out, err = run(sb, "plan --pair orders-pg --config " .. q(path))
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("+ create     RDS Proxy", 1, true), out)
    -- without base_profile there is no default profile to start from: the pair fails, named
    write(path, (text:gsub('base_profile = "base",\n', "", 1)))
    code, out, err = run(sb, "plan --pair orders-pg --config " .. q(path))
    assert.are.equal(1, code, out .. err)
  end)

  it("hints the IAM connection: a kumo-made token, verify-full TLS, the instance's database name", function()
    local text = read(cfg):gsub('engine_family = "POSTGRESQL",', 'engine_family = "POSTGRESQL", iam_auth = "REQUIRED",', 1)
    local path = sb.dir .. "/iam.lua"
    write(path, text)
    local code, out, err = run(sb, "apply --pair orders-pg --quiet --config " .. q(path))
    assert.are.equal(0, code, out .. err)
    code, out, err = run(sb, "verify --pair orders-pg --output json --config " .. q(path))
    assert.are.equal(0, code, out .. err)
    local r = json.decode(out).pairs[1]
    local db
    for _, d in pairs(sb.world.rds.databases) do
      if d.id == "orders-pg" then db = d end
    end
    assert.are.equal("orders", db.db_name, "the seeded database has its own name (not postgres)")
    local host = r.endpoint_address
    assert.truthy(r.connect:find("dbname=orders sslmode=verify-full sslrootcert=global-bundle.pem", 1, true), r.connect)
    assert.truthy(r.connect:find('psql "host=' .. host .. " port=5432 user=", 1, true), r.connect)
    -- the token command runs and makes a token for this endpoint, user and port
    local cmd = assert(r.connect:match('^PGPASSWORD="%$%((kumo %-e .-)%)" psql'), r.connect)
    local user = r.connect:match(" user=([^ ]+) ")
    local p = io.popen(h.env_prefix(sb) .. " " .. cmd:gsub("^kumo ", KUMO .. " ") .. " 2>&1")
    local token = p:read("a")
    p:close()
    assert.are.equal(1, (token:find(host .. ":5432/?Action=connect&DBUser=" .. user .. "&X-Amz-Algorithm=AWS4-HMAC-SHA256", 1, true)), token)
    assert.truthy(token:find("X-Amz-Expires=900&", 1, true), token)
    assert.truthy(token:find("%%2Frds%-db%%2Faws4_request"), token)
    code, out, err = run(sb, "destroy --pair orders-pg --quiet --config " .. q(path))
    assert.are.equal(0, code, out .. err)
  end)
end)
