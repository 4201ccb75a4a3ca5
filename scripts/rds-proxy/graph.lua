--- The topology of the pairs as Graphviz DOT, drawn from what the run
-- found (live facts and ids), not from the config alone: both accounts,
-- the APP VPC (its CIDR blocks) with the shared subnets (and their AZ
-- IDs), the client SGs, the endpoint SG and endpoint; the RDS VPC (its
-- CIDR blocks) with the proxy, proxy SG, DB SG and the database (engine,
-- port); each allowed flow with its port.
-- Parts that do not exist (planned, missing, deleted) are dashed and say
-- so. SVG too when Graphviz's `dot` is installed.
-- @module rds-proxy.graph
local M = {}

local function esc(s)
  return (tostring(s):gsub("\\", "\\\\"):gsub('"', '\\"'))
end

local function q(s) return '"' .. esc(s) .. '"' end

-- Lines of a label, skipping the ones whose value is unknown (never "nil").
local function label(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= false and v ~= "" then out[#out + 1] = esc(v) end
  end
  return '"' .. table.concat(out, "\\n") .. '"'
end

-- Whether each step's resource exists after this run.
-- A VPC's CIDR blocks as one label line (nil when the run did not read them).
local function cidrs(list)
  if not list or #list == 0 then return nil end
  return "CIDR " .. table.concat(list, ", ")
end

local function presence(r)
  local there = {}
  for _, s in ipairs(r.steps or {}) do
    local a = s.action
    there[s.name] = not (a == "missing" or a == "absent" or a == "delete"
      or (a == "create" and r.action == "plan"))
  end
  return there
end

local function style(exists)
  if exists == false then return ', style="dashed", color="gray40", fontcolor="gray40"' end
  return ""
end

local function state_note(exists, r)
  if exists ~= false then return nil end
  if r.action == "plan" then return "(planned)" end
  if r.action == "destroy" then return "(deleted)" end
  return "(missing)"
end

local function pair_graph(lines, r, pair)
  local f, ids, p = r.facts or {}, r.ids or {}, r.pair
  local db = f.db or {}
  local there = presence(r)
  local app, rds = pair and pair.app or {}, pair and pair.rds or {}
  local port = pair and pair.listener_port
  local n = function(s) return q(p .. ":" .. s) end
  local add = function(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  local function node(id, shape, exists, ...)
    add('      %s [shape=%s, label=%s%s];', n(id), shape, label(...), style(exists))
  end
  local function edge(a, b, exists, text, extra)
    add('  %s -> %s [label=%s%s%s];', n(a), n(b), label(text), extra or "", style(exists))
  end

  add('  subgraph %s {\n    label=%s; style=rounded;', q("cluster_app_" .. p),
    label("APP account " .. (f.app_account or "(not reached)") .. " — pair " .. p))
  local app_vpc = app.vpc_id or (f.app_subnets and f.app_subnets[1] and f.app_subnets[1].VpcId)
  add('    subgraph %s {\n      label=%s; style=solid;', q("cluster_appvpc_" .. p),
    label("APP VPC " .. (app_vpc or "?"), cidrs(f.app_vpc_cidrs)))
  local subnets = {}
  for _, s in ipairs(f.app_subnets or {}) do subnets[#subnets + 1] = s end
  if #subnets == 0 then
    for _, id in ipairs(app.subnet_ids or {}) do subnets[#subnets + 1] = { SubnetId = id } end
  end
  for _, s in ipairs(subnets) do
    node(s.SubnetId, "box", there.share, "subnet " .. s.SubnetId, s.CidrBlock,
      s.AvailabilityZoneId and ("AZ ID " .. s.AvailabilityZoneId) or s.AvailabilityZone,
      there.share == false and "(not shared yet)" or "shared with RDS account")
  end
  for _, g in ipairs(app.client_security_group_ids or {}) do
    node(g, "octagon", nil, "client SG " .. g)
  end
  node("epsg", "octagon", there.endpoint_sg, "endpoint SG " .. (ids.endpoint_sg or
    (pair and pair.names and pair.names.endpoint_sg) or ""), "owned by the RDS account",
    state_note(there.endpoint_sg, r))
  node("ep", "component", there.endpoint, "proxy endpoint " .. (pair and pair.endpoint.name or ""),
    ids.endpoint, state_note(there.endpoint, r))
  add("    }")
  node("share", "note", there.share, "RAM share " .. (app.share_name or ""), ids.share,
    "subnets shared with the RDS account", state_note(there.share, r))
  add("  }")

  add('  subgraph %s {\n    label=%s; style=rounded;', q("cluster_rds_" .. p),
    label("RDS account " .. (f.rds_account or "(not reached)") .. " — pair " .. p))
  add('    subgraph %s {\n      label=%s; style=solid;', q("cluster_rdsvpc_" .. p),
    label("RDS VPC " .. (db.vpc_id or "?"), cidrs(db.vpc_cidrs)))
  node("proxy", "component", there.proxy, "RDS Proxy " .. (rds.proxy_name or ""), ids.proxy,
    rds.engine_family, ids.target_group and ("target group " .. ids.target_group), state_note(there.proxy, r))
  node("proxysg", "octagon", there.proxy_sg, "proxy SG " .. (ids.proxy_sg or
    (pair and pair.names and pair.names.proxy_sg) or ""), "no inbound rules", state_note(there.proxy_sg, r))
  local dbsgs = db.security_group_ids or {}
  for _, g in ipairs(dbsgs) do node(g, "octagon", nil, "DB SG " .. g) end
  node("db", "cylinder", nil, "database " .. (rds.db_instance_identifier or rds.db_cluster_identifier or ""),
    db.engine and (db.engine .. (db.port and (" port " .. db.port) or "")), db.status)
  add("    }")
  if there.secret ~= nil or ids.secret or rds.secret_arn then
    node("secret", "note", there.secret, "secret", ids.secret or rds.secret_arn, state_note(there.secret, r))
  end
  if there.role ~= nil or ids.role or rds.role_arn then
    node("role", "note", there.role, "proxy role", ids.role or rds.role_arn, state_note(there.role, r))
  end
  add("  }")

  -- the flows: clients -> endpoint SG -> endpoint -> proxy -> DB SG -> DB
  for _, g in ipairs(app.client_security_group_ids or {}) do
    edge(g, "epsg", there.endpoint_ingress, port and ("allows tcp/" .. port), ', color="darkgreen"')
  end
  edge("epsg", "ep", there.endpoint, "guards")
  for _, s in ipairs(subnets) do
    add('  %s -> %s [arrowhead=none, style=dotted];', n("ep"), n(s.SubnetId))
    add('  %s -> %s [arrowhead=none, style=dotted];', n("share"), n(s.SubnetId))
  end
  edge("ep", "proxy", there.endpoint, port and ("tcp/" .. port))
  edge("proxysg", "proxy", there.proxy, "guards")
  for _, g in ipairs(dbsgs) do
    edge("proxysg", g, there.db_ingress, db.port and ("allows tcp/" .. db.port), ', color="darkgreen"')
    edge(g, "db", nil, "guards")
  end
  edge("proxy", "db", there.target, "target" .. (ids.target and (" " .. ids.target) or "")
    .. (db.port and (", tcp/" .. db.port) or ""))
  if there.secret ~= nil or ids.secret or rds.secret_arn then
    edge("proxy", "secret", there.proxy, "reads via role")
  end
end

--- DOT text for a list of results (`facts`, `ids`, `steps` of each pair).
-- @param results the engine's results
-- @param[opt] cfg the resolved config (for names, client SGs and ports)
function M.dot(results, cfg)
  local by_name = {}
  for _, p in ipairs(cfg and cfg.pairs or {}) do by_name[p.name] = p end
  local lines = { "digraph kumo {", '  rankdir=LR; node [fontname="Helvetica"]; edge [fontname="Helvetica"];' }
  for _, r in ipairs(results) do pair_graph(lines, r, by_name[r.pair]) end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n") .. "\n"
end

--- Write `path` (DOT) and, when `dot` exists, `path` with `.svg`.
-- @return[1] the list of files written, with `notes` (e.g. why no SVG)
-- @return[2] nil, a message naming the file and the reason
function M.write(path, results, cfg)
  local f, err = io.open(path, "w")
  if not f then return nil, "cannot write " .. tostring(err) end
  f:write(M.dot(results, cfg))
  f:close()
  local written = { path, notes = {} }
  if os.execute("command -v dot >/dev/null 2>&1") then
    local svg = path:gsub("%.dot$", "") .. ".svg"
    local qp = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
    if os.execute(string.format("dot -Tsvg %s -o %s", qp(path), qp(svg))) then
      written[2] = svg
    else
      written.notes[1] = "Graphviz's dot failed on " .. path .. "; no SVG written"
    end
  else
    written.notes[1] = "no SVG: Graphviz's dot is not installed (make deps, or apt-get install graphviz)"
  end
  return written
end

return M
