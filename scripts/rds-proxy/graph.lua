--- The topology of the pairs as Graphviz DOT: accounts, VPCs, subnets,
-- proxy, endpoint, security groups and the flows they allow; SVG too when
-- `dot` is installed.
-- @module rds-proxy.graph
local M = {}

local function q(s)
  return '"' .. tostring(s):gsub('"', '\\"') .. '"'
end

local function pair_graph(lines, r)
  local f, ids, p = r.facts or {}, r.ids or {}, r.pair
  local db = f.db or {}
  local n = function(s) return q(p .. ":" .. s) end
  lines[#lines + 1] = string.format('  subgraph %s {\n    label=%s; style=rounded;',
    q("cluster_app_" .. p), q("APP account " .. tostring(f.app_account) .. " (pair " .. p .. ")"))
  lines[#lines + 1] = string.format('    subgraph %s { label=%s; style=dashed;',
    q("cluster_appvpc_" .. p), q("APP VPC " .. tostring(r.app_vpc)))
  for _, s in ipairs(r.app_subnets or {}) do
    lines[#lines + 1] = string.format('      %s [label=%s, shape=box, style=dotted];', n(s), q("subnet " .. s .. "\\n(shared)"))
  end
  for _, g in ipairs(r.client_sgs or {}) do
    lines[#lines + 1] = string.format('      %s [label=%s, shape=octagon];', n(g), q("app SG " .. g))
  end
  lines[#lines + 1] = string.format('      %s [label=%s, shape=octagon, color=blue];', n("epsg"),
    q("endpoint SG " .. tostring(ids.endpoint_sg) .. "\\n(owned by RDS)"))
  lines[#lines + 1] = string.format('      %s [label=%s, shape=component, color=blue];', n("ep"),
    q("proxy endpoint\\n" .. tostring(ids.endpoint or r.endpoint_name)))
  lines[#lines + 1] = "    }\n  }"
  lines[#lines + 1] = string.format('  subgraph %s {\n    label=%s; style=rounded;',
    q("cluster_rds_" .. p), q("RDS account " .. tostring(f.rds_account)))
  lines[#lines + 1] = string.format('    subgraph %s { label=%s; style=dashed;',
    q("cluster_rdsvpc_" .. p), q("RDS VPC " .. tostring(db.vpc_id)))
  lines[#lines + 1] = string.format('      %s [label=%s, shape=component];', n("proxy"), q("RDS Proxy " .. tostring(r.proxy_name)))
  lines[#lines + 1] = string.format('      %s [label=%s, shape=octagon];', n("proxysg"), q("proxy SG " .. tostring(ids.proxy_sg) .. "\\n(no rules)"))
  lines[#lines + 1] = string.format('      %s [label=%s, shape=octagon];', n("dbsg"), q("DB SG " .. tostring((db.security_group_ids or {})[1])))
  lines[#lines + 1] = string.format('      %s [label=%s, shape=cylinder];', n("db"), q(tostring(r.db_name) .. "\\n" .. tostring(db.engine) .. ":" .. tostring(db.port)))
  lines[#lines + 1] = "    }\n  }"
  for _, g in ipairs(r.client_sgs or {}) do
    lines[#lines + 1] = string.format('  %s -> %s [label=%s, color=darkgreen];', n(g), n("epsg"), q("tcp/" .. tostring(r.listener_port)))
  end
  for _, s in ipairs(r.app_subnets or {}) do
    lines[#lines + 1] = string.format('  %s -> %s [style=dotted, arrowhead=none];', n("ep"), n(s))
  end
  lines[#lines + 1] = string.format('  %s -> %s;', n("epsg"), n("ep"))
  lines[#lines + 1] = string.format('  %s -> %s [label="routes to"];', n("ep"), n("proxy"))
  lines[#lines + 1] = string.format('  %s -> %s [style=dotted, arrowhead=none];', n("proxy"), n("proxysg"))
  lines[#lines + 1] = string.format('  %s -> %s [label=%s, color=darkgreen];', n("proxysg"), n("dbsg"), q("tcp/" .. tostring(db.port)))
  lines[#lines + 1] = string.format('  %s -> %s;', n("dbsg"), n("db"))
end

--- DOT text for a list of results (with `facts` and `ids`).
function M.dot(results)
  local lines = { "digraph kumo {", '  rankdir=LR; node [fontname="Helvetica"]; compound=true;' }
  for _, r in ipairs(results) do pair_graph(lines, r) end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n") .. "\n"
end

--- Write `path` (DOT) and, when `dot` exists, `path` with `.svg`.
-- @return the list of files written
function M.write(path, results)
  local f = assert(io.open(path, "w"))
  f:write(M.dot(results))
  f:close()
  local written = { path }
  if os.execute("command -v dot >/dev/null 2>&1") then
    local svg = path:gsub("%.dot$", "") .. ".svg"
    if os.execute(string.format("dot -Tsvg %q -o %q", path, svg)) then written[2] = svg end
  end
  return written
end

return M
