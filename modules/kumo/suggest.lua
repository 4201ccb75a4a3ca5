--- "Did you mean": close matches for a mistyped name (operations,
-- services, parameters, config keys), shared by every error that names
-- an unknown thing.
-- @module kumo.suggest
local M = {}

--- Levenshtein distance, case-insensitive.
-- @tparam string a
-- @tparam string b
-- @treturn integer
function M.distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      local v = prev[j] + 1
      if cur[j - 1] + 1 < v then v = cur[j - 1] + 1 end
      if prev[j - 1] + cost < v then v = prev[j - 1] + cost end
      cur[j] = v
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end

--- Up to `n` names of `candidates` close to `name` (a small edit distance,
-- or one containing the other), closest first.
-- @tparam string name the unknown name
-- @tparam table candidates list of known names
-- @tparam[opt=5] integer n maximum count
-- @treturn table list of names
function M.close_matches(name, candidates, n)
  n = n or 5
  local scored = {}
  local lname = name:lower()
  local limit = math.max(2, #name // 3)
  for _, c in ipairs(candidates) do
    local d = M.distance(name, c)
    local lc = c:lower()
    if d <= limit or (#lname >= 3 and (lc:find(lname, 1, true) or lname:find(lc, 1, true))) then
      scored[#scored + 1] = { c, d }
    end
  end
  table.sort(scored, function(x, y)
    if x[2] ~= y[2] then return x[2] < y[2] end
    return x[1] < y[1]
  end)
  local out = {}
  for i = 1, math.min(n, #scored) do out[i] = scored[i][1] end
  return out
end

return M
