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

--- The schema name and version of `--output json` (docs/cli.md, "Output for
-- machines"; docs/rds-proxy-share.schema.json). A change that removes or
-- retypes a field bumps the version; new fields do not.
M.SCHEMA = "kumo.rds-proxy-share/1"

--- A structured error: `{ code, message, pair, step, retryable }` (JSON null
-- for what is not known).
-- @tparam table e `code=, message=, pair=, step=, retryable=`
function M.error(e)
  return { code = e.code or "Error", message = tostring(e.message),
    pair = e.pair or json.null, step = e.step or json.null, retryable = e.retryable == true }
end

-- The structured error of a pair's failure (the engine's error_info).
local function pair_errors(r)
  if not r.error then return {} end
  local info = r.error_info or {}
  return { M.error{ code = info.code, message = r.error, pair = r.pair, step = info.step,
    retryable = info.retryable } }
end

--- One JSON document for the whole run.
-- @tparam string action
-- @tparam table results the pairs' results
-- @tparam integer exit the exit status the run ends with
-- @tparam[opt] table extra run-level errors (structured, `M.error`)
function M.json(action, results, exit, extra)
  local pairs_out, all = {}, {}
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
    local errs = pair_errors(r)
    for _, e in ipairs(errs) do all[#all + 1] = e end
    pairs_out[i] = {
      pair = r.pair, outcome = r.outcome, actions = json.array(actions), calls = json.array(calls),
      endpoint_address = r.action ~= "destroy" and r.endpoint_address or json.null,
      problems = json.array(r.problems), notes = json.array(r.notes), error = r.error or json.null,
      errors = json.array(errs), connect = r.connect,
    }
  end
  for _, e in ipairs(extra or {}) do all[#all + 1] = e end
  return json.encode{ schema = M.SCHEMA, action = action or json.null, exit = exit or 0,
    pairs = json.array(pairs_out), errors = json.array(all) }
end

return M
