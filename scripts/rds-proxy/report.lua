--- Output of a run: readable text per pair and a final table, or one JSON
-- document (`--output json`) with, per pair, the actions taken, the
-- outcome and `endpoint_address`.
-- @module rds-proxy.report
local json = require "kumo.json"

local M = {}

local MARK = { create = "+", update = "~", delete = "-", unchanged = "=", ok = "✓",
               problem = "✗", missing = "?", absent = " " }

local function pad(s, n)
  s = tostring(s)
  return s .. string.rep(" ", math.max(0, n - #s))
end

--- The text of one pair's result.
function M.pair_text(r)
  local out = {}
  out[#out + 1] = string.format("pair %s — %s: %s", r.pair, r.action, r.outcome == "ok" and "ok" or "FAILED")
  for _, s in ipairs(r.steps) do
    out[#out + 1] = string.format("  %s %-10s %-44s %s", MARK[s.action] or "*", s.action, s.title or s.name,
      s.id and tostring(s.id) or "")
    for _, d in ipairs(s.diffs or {}) do
      if d.key == "with" then
        out[#out + 1] = string.format("      (created with the %s)", d.want)
      else
        out[#out + 1] = string.format("      %s: %s → %s%s", d.key, tostring(d.have or "—"), tostring(d.want or "—"),
          d.replace and ("  (apply --replace " .. tostring(s.name) .. ")") or "")
      end
    end
  end
  for _, p in ipairs(r.problems) do out[#out + 1] = "  problem: " .. p end
  if r.error then out[#out + 1] = "  error: " .. r.error end
  for _, n in ipairs(r.notes) do out[#out + 1] = "  note: " .. n end
  if r.endpoint_address and r.action ~= "destroy" then
    out[#out + 1] = "  endpoint: " .. r.endpoint_address
  end
  if r.connect then out[#out + 1] = "  connect from the APP VPC: " .. r.connect end
  if r.pinning then out[#out + 1] = "  " .. r.pinning end
  if r.action ~= "plan" and r.action ~= "verify" then
    out[#out + 1] = string.format("  %d changing call(s)", #r.calls)
  end
  return table.concat(out, "\n")
end

local function changes(r)
  local n = 0
  for _, s in ipairs(r.steps) do
    if s.action == "create" or s.action == "update" or s.action == "delete" then n = n + 1 end
  end
  return n
end

--- The final table of pairs and outcomes.
function M.table(results)
  local out = { "", pad("PAIR", 20) .. pad("ACTION", 9) .. pad("OUTCOME", 9) .. pad("CHANGES", 9) .. "ENDPOINT" }
  for _, r in ipairs(results) do
    out[#out + 1] = pad(r.pair, 20) .. pad(r.action, 9) .. pad(r.outcome, 9) .. pad(changes(r), 9)
      .. tostring(r.action ~= "destroy" and r.endpoint_address or "")
  end
  return table.concat(out, "\n")
end

--- One JSON document for the whole run.
function M.json(action, results)
  local pairs_out = {}
  for i, r in ipairs(results) do
    local actions = {}
    for _, s in ipairs(r.steps) do
      local diffs = {}
      for _, d in ipairs(s.diffs or {}) do
        diffs[#diffs + 1] = { key = d.key, have = d.have, want = d.want, replace = d.replace }
      end
      actions[#actions + 1] = { step = s.name, resource = s.title, account = s.account, action = s.action,
                                id = s.id, diffs = json.array(diffs) }
    end
    local calls = {}
    for _, c in ipairs(r.calls) do calls[#calls + 1] = { account = c.account, call = c.call, note = c.note } end
    pairs_out[i] = {
      pair = r.pair, outcome = r.outcome, actions = json.array(actions), calls = json.array(calls),
      endpoint_address = r.action ~= "destroy" and r.endpoint_address or json.null,
      problems = json.array(r.problems), notes = json.array(r.notes), error = r.error,
      connect = r.connect,
    }
  end
  return json.encode{ action = action, pairs = json.array(pairs_out) }
end

return M
