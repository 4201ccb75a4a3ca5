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
-- first `result_key` instead of pages), `resume` (a token printed as `NextToken`
-- by kumo or by the AWS CLI / boto3's `build_full_result`: see `encode_token`),
-- and every call option (`on_attempt`, ...).
--
-- With `max_items`, the iterator's second value on the last page is the resume
-- token (botocore's format) when results remain, as `build_full_result`'s
-- `NextToken`: `for page, resume in rds:paginate(op, p, { max_items = 5 }) do`.
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

-- {======================================================================
-- Resume tokens, as botocore's TokenEncoder writes them: base64 of Python's
-- json.dumps of {input_token: value, ..., "boto_truncate_amount": n}, so a
-- token printed by the AWS CLI resumes in kumo and the other way round.

--- A resume token in botocore's format.
-- @tparam table names the paginator's input token names, in order
-- @tparam table values the token values by name (nil: JSON null)
-- @tparam[opt] integer truncate items of the page to skip on resuming
-- @treturn string the opaque token
function paginate.encode_token(names, values, truncate)
  local json = require "kumo.json"
  local t, order = {}, {}
  for i, n in ipairs(names) do
    local v = values[n]
    if v == nil then v = json.null end
    t[n], order[i] = v, n
  end
  if truncate then
    t.boto_truncate_amount = truncate
    order[#order + 1] = "boto_truncate_amount"
  end
  -- the outer keys in the paginator's order, nested ones sorted
  local function keys(o)
    if o == t then return order end
    local l = {}
    for k in pairs(o) do l[#l + 1] = k end
    table.sort(l)
    return l
  end
  return require("kumo.crypto").base64_encode(json.dumps(t, { ascii = true, keys = keys }))
end

--- Read a resume token (botocore's format, or its older `a___b___index` form).
-- @tparam table names the paginator's input token names, in order
-- @tparam string token the token
-- @treturn table the token values by name
-- @treturn integer items of the first page to skip
function paginate.decode_token(names, token)
  local crypto, json = require "kumo.crypto", require "kumo.json"
  local okb, text = pcall(crypto.base64_decode, token)
  local okj, t = false, nil
  if okb and text then okj, t = pcall(json.decode, text) end
  if okj and type(t) == "table" and not json.is_array(t) then
    if t.boto_encoded_keys ~= nil then
      errors.raise{ kind = "usage", message = "this resume token holds binary values "
        .. "(boto_encoded_keys), which kumo does not read; start without it" }
    end
    local skip = t.boto_truncate_amount or 0
    if math.type(skip) ~= "integer" or skip < 0 then
      errors.raise{ kind = "usage", message = "resume token: boto_truncate_amount "
        .. tostring(skip) .. " is not a count" }
    end
    t.boto_truncate_amount = nil
    for k in pairs(t) do
      local known = false
      for _, n in ipairs(names) do if n == k then known = true end end
      if not known then
        errors.raise{ kind = "usage", message = string.format("resume token names %q, "
          .. "which this operation's paginator does not use (it uses %s)", k,
          table.concat(names, ", ")) }
      end
    end
    for k, v in pairs(t) do if v == json.null then t[k] = nil end end
    return t, skip
  end
  -- the older form botocore still reads: tokens joined by "___", then the index
  local parts = {}
  for part in (token .. "___"):gmatch("(.-)___") do parts[#parts + 1] = part end
  local skip = 0
  if #parts == #names + 1 then
    skip = math.tointeger(tonumber(parts[#parts]))
    if skip then parts[#parts] = nil else parts, skip = { token }, 0 end
  end
  local values = {}
  for i, n in ipairs(names) do
    if parts[i] ~= "None" then values[n] = parts[i] end
  end
  return values, skip
end

-- }======================================================================

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
  -- the tokens of the request being made: a resume token repeats them
  local current, skip = {}, 0
  if opts.resume ~= nil then
    current, skip = paginate.decode_token(input_tokens, opts.resume)
    for _, name in ipairs(input_tokens) do req[name] = current[name] end
  end
  local call_opts = {}
  for k, v in pairs(opts) do
    if k ~= "page_size" and k ~= "starting_token" and k ~= "max_pages" and k ~= "items"
        and k ~= "max_items" and k ~= "resume" then
      call_opts[k] = v
    end
  end
  call_opts.query = nil -- applies to pages below, not to each raw call
  local seen_prev = nil
  local done, pages = false, 0
  local max_pages, max_items = opts.max_pages, opts.max_items
  local result_get
  if max_items or opts.items or skip > 0 then
    local key = list(pag.result_key)[1]
    if not key then
      errors.raise{ kind = "usage", service = client.service_name, operation = op,
        message = op .. ": this paginator has no result key (items / max_items need one)" }
    end
    result_get = getter(key)
  end
  local items_seen = 0

  -- botocore's _handle_first_request: skip what the token's page gave before,
  -- and empty the other result keys (they were given with that page)
  local function skip_given(page)
    local key = list(pag.result_key)[1]
    local l = result_get(page)
    if type(l) == "table" then
      local kept = {}
      for i = skip + 1, #l do kept[#kept + 1] = l[i] end
      for i = #l, 1, -1 do l[i] = nil end
      for i, v in ipairs(kept) do l[i] = v end
    end
    for _, k in ipairs(list(pag.result_key)) do
      if k ~= key and k:match("^[%w_]+$") then
        local v = page[k]
        if type(v) == "table" then page[k] = setmetatable({}, getmetatable(v))
        elseif type(v) == "string" then page[k] = ""
        elseif type(v) ~= "number" then page[k] = nil end
      end
    end
  end

  local function next_page()
    if done then return nil end
    local page = client:call(op, req, call_opts)
    pages = pages + 1
    if pages == 1 and skip > 0 then skip_given(page) end
    local resume
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
        if #l > room then
          -- botocore's _truncate_response: this page's request tokens, and how
          -- many of its items were given (counting those a resume skipped)
          resume = paginate.encode_token(input_tokens, current, room + (pages == 1 and skip or 0))
        end
        for i = #l, room + 1, -1 do l[i] = nil end
        items_seen = items_seen + #l
      end
      if not resume and items_seen >= max_items and not all_empty
          and not (more_get and not more_get(page)) then
        local nxt = {}
        for i, name in ipairs(input_tokens) do
          if not empty(tokens[i]) then nxt[name] = tokens[i] end
        end
        resume = paginate.encode_token(input_tokens, nxt)
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
      current = {}
      for i, name in ipairs(input_tokens) do
        req[name] = tokens[i]
        if not empty(tokens[i]) then current[name] = tokens[i] end
      end
    end
    if opts.query then
      return require("kumo.jmespath").search(opts.query, page), resume
    end
    return page, resume
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
