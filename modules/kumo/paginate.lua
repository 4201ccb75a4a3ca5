--- kumo.paginate: iterate over the pages of a paginated operation.
--
-- Driven by the model's `paginators-1` data, with botocore's semantics
-- (`botocore/paginate.py`): the output token(s) of a page become the input
-- token(s) of the next request; the loop ends when every output token is
-- absent or empty, or when `more_results` is false; the same token received
-- twice raises (a service bug would otherwise loop forever).
--
--     for page in rds:paginate("DescribeDBProxies", {}) do ... end
--     for proxy in rds:paginate("DescribeDBProxies", {}, { items = true }) do ... end
--
-- Options: `page_size` (sets the paginator's `limit_key`), `starting_token`
-- (a token from an earlier page's `NextToken`-like member), `max_pages`,
-- `max_items` (stop after that many elements of the first `result_key`; the
-- last page's list is cut to fit), `items = true` (yield the elements of the
-- first `result_key` instead of pages), and every call option (`on_attempt`, ...).
-- @module kumo.paginate
local errors = require "kumo.errors"

local paginate = {}

-- Compiled getters for token / result paths: plain dotted paths natively,
-- anything else through kumo.jmespath.
local getters = {}

local function getter(path)
  local g = getters[path]
  if g then return g end
  if path:match("^[%w_]+$") then
    g = function(t) return t[path] end
  elseif path:match("^[%w_]+[%w_.]*$") then
    local parts = {}
    for p in path:gmatch("[^.]+") do parts[#parts + 1] = p end
    g = function(t)
      for i = 1, #parts do
        if type(t) ~= "table" then return nil end
        t = t[parts[i]]
      end
      return t
    end
  else
    local jmespath = require "kumo.jmespath"
    g = function(t) return jmespath.search(path, t) end
  end
  getters[path] = g
  return g
end

local function list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

local function empty(v)
  return v == nil or v == "" or (type(v) == "table" and next(v) == nil)
end

--- The pages of an operation, as an iterator.
-- @tparam table client a kumo client
-- @tparam string op the operation name
-- @tparam[opt] table params
-- @tparam[opt] table opts see the module doc
-- @treturn function iterator yielding pages (or items)
function paginate.pages(client, op, params, opts)
  local pag = client:paginator(op)
  opts = opts or {}
  local input_tokens = list(pag.input_token)
  local output_tokens = list(pag.output_token)
  local out_get = {}
  for i, p in ipairs(output_tokens) do out_get[i] = getter(p) end
  local more_get = pag.more_results and getter(pag.more_results)
  local req = {}
  for k, v in pairs(params or {}) do req[k] = v end
  if opts.page_size then
    if not pag.limit_key then
      errors.raise{ kind = "usage", service = client.service_name, operation = op,
        message = op .. ": page_size given but this paginator has no limit key" }
    end
    req[pag.limit_key] = opts.page_size
  end
  if opts.starting_token ~= nil then
    local st = list(opts.starting_token)
    for i, name in ipairs(input_tokens) do req[name] = st[i] end
  end
  local call_opts = {}
  for k, v in pairs(opts) do
    if k ~= "page_size" and k ~= "starting_token" and k ~= "max_pages" and k ~= "items"
        and k ~= "max_items" then
      call_opts[k] = v
    end
  end
  call_opts.query = nil -- applies to pages below, not to each raw call
  local seen_prev = nil
  local done, pages = false, 0
  local max_pages, max_items = opts.max_pages, opts.max_items
  local result_get
  if max_items or opts.items then
    local key = list(pag.result_key)[1]
    if not key then
      errors.raise{ kind = "usage", service = client.service_name, operation = op,
        message = op .. ": this paginator has no result key (items / max_items need one)" }
    end
    result_get = getter(key)
  end
  local items_seen = 0

  local function next_page()
    if done then return nil end
    local page = client:call(op, req, call_opts)
    pages = pages + 1
    local tokens, all_empty = {}, true
    for i, g in ipairs(out_get) do
      local t = g(page)
      tokens[i] = t
      if not empty(t) then all_empty = false end
    end
    if max_items then
      local l = result_get(page)
      if type(l) == "table" then
        local room = max_items - items_seen
        for i = #l, room + 1, -1 do l[i] = nil end
        items_seen = items_seen + #l
      end
    end
    if all_empty or (more_get and not more_get(page))
        or (max_pages and pages >= max_pages) or (max_items and items_seen >= max_items) then
      done = true
    else
      local key = table.concat((function()
        local s = {}
        for i = 1, #output_tokens do s[i] = tostring(tokens[i]) end
        return s
      end)(), "\0")
      if key == seen_prev then
        errors.raise{ kind = "parse", code = "RepeatedPaginationToken",
          service = client.service_name, operation = op,
          message = string.format("the same next token was received twice (%s); stopping "
            .. "instead of looping forever", tostring(tokens[1])) }
      end
      seen_prev = key
      for i, name in ipairs(input_tokens) do req[name] = tokens[i] end
    end
    if opts.query then
      return require("kumo.jmespath").search(opts.query, page)
    end
    return page
  end

  if not opts.items then return next_page end
  local items, idx = nil, 0
  return function()
    while true do
      if items then
        idx = idx + 1
        local v = items[idx]
        if v ~= nil then return v end
      end
      local page = next_page()
      if page == nil then return nil end
      items, idx = result_get(page) or {}, 0
    end
  end
end

return paginate
