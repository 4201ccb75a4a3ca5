--- The `kumo call` command: one AWS operation from the shell, shaped like the AWS CLI.
--
--     kumo call SERVICE OPERATION [JSON | key=value ...] [options]
--     kumo call rds describe-db-proxies --query 'DBProxies[].DBProxyName'
--     kumo call ec2 DescribeSubnets '{"SubnetIds": ["subnet-1"]}' --output text
--     kumo call rds describe-db-instances db-instance-identifier=orders --wait db-instance-available
--
-- Options: `--profile`, `--region`, `--endpoint-url`, `--query` (JMESPath),
-- `--output json|text|table`, `--all` (follow pagination and merge the pages
-- as the CLI does), `--cli-input-json JSON|file://PATH`, `--wait WAITER`
-- (after the call, wait with the same parameters), `--debug` (wire log and
-- tracebacks on stderr; also `KUMO_DEBUG=1`).
-- Operation, waiter and parameter names are accepted as in the model
-- (PascalCase) or in the CLI's kebab-case.
-- Exit status: 0 success, 1 the call or the wait failed, 2 usage error.
-- @module kumo.cli.call
local term = require "kumo.cli.term"

local call = {}

local format, concat = string.format, table.concat

local USAGE = [[
usage: kumo call SERVICE OPERATION [JSON | key=value ...] [options]

  SERVICE      rds, ec2, sts, iam, ram, secretsmanager, kms, ... (as the AWS CLI names them)
  OPERATION    DescribeDBProxies or describe-db-proxies
  JSON         the parameters as one JSON object
  key=value    one parameter (PascalCase or kebab-case name); lists and structures as JSON,
               lists of strings also as a,b,c

options:
  --profile NAME            profile of the AWS config files
  --region REGION           region (else the profile's or AWS_REGION)
  --endpoint-url URL        send to this endpoint
  --ca-bundle FILE          CA certificates for TLS (else AWS_CA_BUNDLE, the profile's ca_bundle)
  --query EXPR              JMESPath applied to the result (as the AWS CLI's --query)
  --output json|text|table  output format (default json)
  --no-paginate             one call only (else a paginated operation's pages are
                            followed and merged, as the AWS CLI does)
  --page-size N             items per call (the paginator's limit key)
  --max-items N             stop after N items; NextToken in the output resumes
  --starting-token TOKEN    resume from a NextToken (kumo's or the AWS CLI's)
  --all                     follow pagination even with a token or limit parameter given
  --cli-input-json JSON     parameters as JSON text, or file://PATH
  --wait WAITER             then wait for this waiter (e.g. db-instance-available)
  --debug                   wire log (secrets redacted) and tracebacks on stderr
]]

local ALIASES = { s3api = "s3", ["configservice"] = "config" }

local Usage = {}  -- marker metatable of usage errors

local function usage_error(msg)
  error(setmetatable({ message = msg }, Usage), 0)
end

-- "describe-db-proxies", "DescribeDBProxies", "describe_db_proxies" → a key
local function fold(name)
  return (tostring(name):gsub("[-_]", "")):lower()
end

local function find_name(wanted, names, what, where)
  for _, n in ipairs(names) do if n == wanted then return n end end
  local f = fold(wanted)
  for _, n in ipairs(names) do if fold(n) == f then return n end end
  local suggest = require "kumo.suggest"
  local near = suggest.close_matches(wanted, names, 3)
  if #near == 0 then
    -- kebab-case against the model's names: compare the folded forms
    local folded, back = {}, {}
    for i, n in ipairs(names) do folded[i] = fold(n); back[folded[i]] = n end
    near = suggest.close_matches(f, folded, 3)
    for i, n in ipairs(near) do near[i] = back[n] end
  end
  usage_error(format("%s has no %s %q%s", where, what, wanted,
    #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?") or ""))
end

local function sorted_keys(t)
  local l = {}
  for k in pairs(t or {}) do l[#l + 1] = k end
  table.sort(l)
  return l
end

--- Parse the command line.
-- @tparam table args the arguments after `call`
-- @treturn table `{ service=, operation=, params = {strings}, profile=, ... }`
function call.parse_args(args)
  local o = { words = {}, output = "json" }
  local takes = { ["--profile"] = "profile", ["--region"] = "region",
    ["--endpoint-url"] = "endpoint_url", ["--query"] = "query", ["--output"] = "output",
    ["--cli-input-json"] = "input_json", ["--wait"] = "wait", ["--ca-bundle"] = "ca_bundle",
    ["--page-size"] = "page_size", ["--max-items"] = "max_items",
    ["--starting-token"] = "starting_token" }
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    local key = takes[name or a]
    if key then
      local v = inline
      if v == nil then
        i = i + 1
        v = args[i]
        if v == nil then usage_error((name or a) .. " needs a value") end
      end
      o[key] = v
    elseif a == "--all" then o.all = true
    elseif a == "--no-paginate" then o.no_paginate = true
    elseif a == "--debug" then o.debug = true
    elseif a == "--help" or a == "-h" then o.help = true
    elseif a == "--" then
      for j = i + 1, #args do o.words[#o.words + 1] = args[j] end
      break
    elseif a:match("^%-%-") then
      local names = sorted_keys(takes)
      for _, n in ipairs{ "--all", "--no-paginate", "--debug", "--help" } do names[#names + 1] = n end
      local near = require("kumo.suggest").close_matches(a, names, 2)
      usage_error(format("unknown option %s%s", a,
        #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?") or ""))
    else
      o.words[#o.words + 1] = a
    end
    i = i + 1
  end
  for _, k in ipairs{ "page_size", "max_items" } do
    if o[k] ~= nil then
      local n = math.tointeger(tonumber(o[k]))
      if not n or n < 1 then
        usage_error(format("--%s %s: give a whole number of at least 1", k:gsub("_", "-"), o[k]))
      end
      o[k] = n
    end
  end
  if o.no_paginate and (o.all or o.page_size or o.max_items or o.starting_token) then
    usage_error("--no-paginate cannot go with --all, --page-size, --max-items or --starting-token")
  end
  if o.output ~= "json" and o.output ~= "text" and o.output ~= "table" then
    usage_error(format("--output %s: use json, text or table", o.output))
  end
  o.service = table.remove(o.words, 1)
  o.operation = table.remove(o.words, 1)
  return o
end

local function read_file(path)
  local s, err = require("kumo.sys").read_file(path)
  if not s then usage_error("cannot read " .. tostring(err)) end
  return s
end

-- kumo.json.decode answers nil and a message for bad JSON (it raises only
-- for a non-string)
local function decode_json(text, what)
  local v, err = require("kumo.json").decode(text)
  if v == nil then
    usage_error(format("%s is not valid JSON: %s", what, term.line(tostring(err))))
  end
  return v
end

-- A value given as text for a member of this shape.
local function coerce(shapes, ref, text, what)
  local shape = ref and shapes[ref.shape] or {}
  local ty = shape.type
  if ty == "string" or ty == "timestamp" or ty == nil then return text end
  if ty == "integer" or ty == "long" then
    local n = math.tointeger(tonumber(text))
    if not n then usage_error(format("%s: %q is not an integer", what, text)) end
    return n
  elseif ty == "float" or ty == "double" then
    local n = tonumber(text)
    if not n then usage_error(format("%s: %q is not a number", what, text)) end
    return n
  elseif ty == "boolean" then
    local l = text:lower()
    if l == "true" then return true elseif l == "false" then return false end
    usage_error(format("%s: %q is not true or false", what, text))
  elseif ty == "blob" then
    return text
  elseif ty == "list" and not text:match("^%s*%[") then
    local item = shapes[shape.member.shape] or {}
    if item.type ~= "structure" and item.type ~= "list" and item.type ~= "map" then
      local l = require("kumo.json").array()
      for part in (text .. ","):gmatch("([^,]*),") do
        l[#l + 1] = coerce(shapes, shape.member, part, what)
      end
      return l
    end
  end
  return decode_json(text, what)
end

--- The parameters of the call from the words after the operation and --cli-input-json.
-- @tparam table svc service model
-- @tparam table op_model operation model
-- @tparam table o parsed arguments
-- @treturn table params
function call.params(svc, op_model, o)
  local params = {}
  local input = op_model.input and svc.shapes[op_model.input.shape] or { members = {} }
  local members = input.members or {}
  local names = sorted_keys(members)
  local function merge(t, what)
    if type(t) ~= "table" or require("kumo.json").is_array(t) then
      usage_error(what .. " must be a JSON object of the operation's parameters")
    end
    for k, v in pairs(t) do params[k] = v end
  end
  if o.input_json then
    local text = o.input_json
    local path = text:match("^file://(.*)$")
    if path then text = read_file(path) end
    merge(decode_json(text, "--cli-input-json"), "--cli-input-json")
  end
  for _, w in ipairs(o.words) do
    if w:match("^%s*{") then
      merge(decode_json(w, "the JSON parameters"), "the JSON parameters")
    else
      local k, v = w:match("^([^=]+)=(.*)$")
      if not k then
        usage_error(format("%q: parameters are key=value or one JSON object "
          .. "(the operation takes: %s)", w, concat(names, ", ")))
      end
      local name = find_name(k, names, "parameter", op_model.name)
      params[name] = coerce(svc.shapes, members[name], v, name)
    end
  end
  return params
end

-- botocore's PageIterator.build_full_result: the result keys of every page
-- concatenated, plus the paginator's non-aggregate keys of the first page.
local function full_result(client, op, params, o)
  local pag = client:paginator(op)
  local jp = require "kumo.jmespath"
  local function keys(v) if type(v) == "table" then return v end return { v } end
  local result_keys = keys(pag.result_key)
  local merged, non_aggregate = {}, nil
  local first_meta, next_token
  local popts = { page_size = o.page_size, max_items = o.max_items, resume = o.starting_token }
  for page, resume in client:paginate(op, params, popts) do
    next_token = resume or next_token
    first_meta = first_meta or page.ResponseMetadata
    if non_aggregate == nil then
      non_aggregate = {}
      for _, k in ipairs(keys(pag.non_aggregate_keys or {})) do
        local v = jp.search(k, page)
        if v ~= nil and not k:find("[^%w_]") then non_aggregate[k] = v end
      end
    end
    for _, k in ipairs(result_keys) do
      local v = k:find("[^%w_]") and jp.search(k, page) or page[k]
      if v ~= nil then
        local have = merged[k]
        if have == nil then merged[k] = v
        elseif type(v) == "table" then
          for _, x in ipairs(v) do have[#have + 1] = x end
        elseif type(v) == "number" and type(have) == "number" then merged[k] = have + v
        elseif type(v) == "string" and type(have) == "string" then merged[k] = have .. v end
      end
    end
  end
  for k, v in pairs(non_aggregate or {}) do merged[k] = v end
  merged.NextToken = next_token
  merged.ResponseMetadata = first_meta
  return merged
end

-- the one line told for an error (and the request id when AWS gave one)
local function describe(err)
  local errors = require "kumo.errors"
  if errors.is(err) then return tostring(err) end
  if type(err) == "table" and err.message then return tostring(err.message) end
  return tostring(err)
end

-- As the AWS CLI (awscli/customizations/paginate.py): a paginated operation's
-- pages are followed unless --no-paginate, or a parameter that is the
-- paginator's input token or limit key is given (the user pages by hand).
local function should_paginate(svc, service, op, params, o)
  local pag = svc.paginators and svc.paginators[op]
  local paging = o.page_size and "--page-size" or o.max_items and "--max-items"
    or o.starting_token and "--starting-token"
  if not pag then
    if o.all or paging then
      usage_error(format("%s %s is not paginated; drop %s", service, op, o.all and "--all" or paging))
    end
    return false
  end
  if o.no_paginate then return false end
  if o.all then return true end
  local manual = {}
  for _, k in ipairs(type(pag.input_token) == "table" and pag.input_token or { pag.input_token }) do
    manual[#manual + 1] = k
  end
  manual[#manual + 1] = pag.limit_key
  for _, k in ipairs(manual) do
    if params[k] ~= nil then
      if paging then
        usage_error(format("%s given: it pages by hand, so %s does not apply "
          .. "(drop %s, or use %s alone)", k, paging, k, paging))
      end
      return false
    end
  end
  return true
end

local function run(o)
  local model = require "kumo.model"
  local service = ALIASES[o.service] or o.service
  if not model.has(service) then
    local names = model.services()
    local near = require("kumo.suggest").close_matches(service, names, 3)
    usage_error(format("unknown service %q%s", o.service,
      #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?")
        or ("; kumo has models for: " .. concat(names, ", "))))
  end
  local svc = model.service(service)
  local op = find_name(o.operation, model.operation_names(svc), "operation", service)
  local op_model = svc.operations[op]
  local params = call.params(svc, op_model, o)
  local aws = require "kumo.aws"
  local sopts = { profile = o.profile, region = o.region, endpoint_url = o.endpoint_url,
    ca_bundle = o.ca_bundle }
  if o.debug_on then sopts.on_attempt = require("kumo.cli.wirelog").on_attempt end
  local okc, session = pcall(aws.session, sopts)
  if not okc then usage_error(tostring(session):gsub("^.-aws%.session: ", "")) end
  local client = session:client(service)
  if o.wait then
    local names = require("kumo.waiter").list(client)
    o.wait = find_name(o.wait, names, "waiter", service)
  end
  local out
  if should_paginate(svc, service, op, params, o) then
    out = full_result(client, op, params, o)
  else
    out = client:call(op, params)
  end
  local output = require "kumo.cli.output"
  local shown = output.present(svc, op_model, out)
  if o.query then
    local okq, v = pcall(require("kumo.jmespath").search, o.query, shown)
    if not okq then usage_error("--query: " .. term.line(tostring(v))) end
    shown = v
  end
  local text
  if o.output == "text" then
    text = output.text(shown)
    if text ~= "" then text = text .. "\n" end
  elseif o.output == "table" then
    text = output.table(op, shown) .. "\n"
  else
    -- as the CLI: an empty result prints nothing, a null query result "null"
    local empty = type(shown) == "table" and next(shown) == nil
      and not require("kumo.json").is_array(shown) and not o.query
    text = empty and "" or (output.json(shown) .. "\n")
  end
  io.stdout:write(text)
  io.stdout:flush()
  if o.wait then
    client:wait(o.wait, params)
  end
  return 0
end

--- Run the command.
-- @param ... the arguments after `call`
-- @treturn integer exit status
function call.main(...)
  local args = table.pack(...)
  local list = {}
  for i = 1, args.n do list[i] = tostring(args[i]) end
  local okp, o = pcall(call.parse_args, list)
  if not okp then
    io.stderr:write("kumo call: ", term.line(describe(o)), "\n", "run 'kumo call --help' for usage\n")
    return 2
  end
  if o.help then io.stdout:write(USAGE); return 0 end
  if not o.service or not o.operation then
    io.stderr:write("kumo call: needs SERVICE and OPERATION\n", USAGE)
    return 2
  end
  if o.debug then require("kumo.sys").setenv("KUMO_DEBUG", "1") end
  local debug_on = (os.getenv("KUMO_DEBUG") or "") ~= "" and os.getenv("KUMO_DEBUG") ~= "0"
  o.debug_on = debug_on
  local ok, err = xpcall(run, function(e)
    if debug_on then return { e, debug.traceback(nil, 2) } end
    return { e }
  end, o)
  if ok then return 0 end
  local e, tb = err[1], err[2]
  if getmetatable(e) == Usage then
    io.stderr:write("kumo call: ", term.line(e.message), "\n")
    return 2
  end
  local errors = require "kumo.errors"
  local line = describe(e)
  if errors.is(e) and (e.kind == "usage" or e.kind == "validation") then
    io.stderr:write("kumo call: ", term.line(line), "\n")
    if tb then io.stderr:write(term.clean(tb), "\n") end
    return 2
  end
  io.stderr:write("kumo call: ", term.line(line), "\n")
  if tb then io.stderr:write(term.clean(tb), "\n") end
  return 1
end

return call
