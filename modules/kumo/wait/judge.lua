--- kumo.wait.judge: what one poll's answer means for a wait — which
-- acceptor it matches (persisting acceptors only once their streak is
-- long enough), and whether it was AWS failing for its own reasons (a
-- transient poll: it ends nothing and leaves streaks as they were).
-- @module kumo.wait.judge
local jmespath = require "kumo.jmespath"
local errors = require "kumo.errors"

local judge = {}

local function status_of(out, err)
  if err then return err.http_status end
  local md = type(out) == "table" and out.ResponseMetadata
  if type(md) == "table" and md.HTTPStatusCode then return md.HTTPStatusCode end
  return 200
end

--- Is `v` a JSON array (as kumo.jmespath sees it)?
function judge.is_list(v)
  return type(v) == "table" and jmespath.type(v) == "array"
end
local is_list = judge.is_list

--- Does acceptor `a` match this response (`out` or `err`)? `params` is the
-- request, for `inputOutput` acceptors (Smithy's matcher of that name).
-- @treturn boolean
function judge.matches(a, out, err, params)
  local m = a.matcher
  if m == "error" then
    if a.expected == true then return err ~= nil end
    if a.expected == false then return err == nil end
    return err ~= nil and err.code == a.expected
  elseif m == "status" then
    return status_of(out, err) == a.expected
  end
  if err then return false end
  local v
  if a.inputOutput then
    v = a._path:search({ input = params or {}, output = out })
  else
    v = a._path:search(out)
  end
  if m == "path" then
    return jmespath.equal(v, a.expected)
  elseif not is_list(v) or #v == 0 then
    return false
  elseif m == "pathAll" then
    for i = 1, #v do
      if not jmespath.equal(v[i], a.expected) then return false end
    end
    return true
  else -- pathAny
    for i = 1, #v do
      if jmespath.equal(v[i], a.expected) then return true end
    end
    return false
  end
end
local matches = judge.matches

--- Is this poll's error one AWS gave for its own reasons (throttling, 5xx,
-- no answer) that no acceptor names? Then it ends nothing: the waiter
-- polls again. An acceptor naming the error's code (or status) still
-- decides; `error = true` ("any error") does not claim such errors.
-- @treturn boolean
function judge.transient(def, err, out, params)
  if not err or not errors.is_transient(err) then return false end
  for _, a in ipairs(def.acceptors) do
    if (a.matcher == "error" and a.expected == err.code)
        or (a.matcher == "status" and matches(a, out, err, params)) then
      return false
    end
  end
  return true
end

-- Track persist streaks on every answered poll, whatever matches first.
local function track_streaks(def, streaks, out, err, params, t, persist)
  for i, a in ipairs(def.acceptors) do
    local p = a.persist and (persist or a.persist)
    if p then
      if matches(a, out, err, params) then
        local s = streaks[i] or { since = t, polls = 0 }
        s.polls = s.polls + 1
        streaks[i] = s
        s.ready = (t - s.since) >= p and s.polls >= (a.persistPolls or 2)
      else
        streaks[i] = nil
      end
    end
  end
end

--- Judge one poll.
-- @tparam table def a checked definition
-- @tparam table streaks the wait's persist streaks by acceptor index (updated)
-- @param out the poll's output (nil on error)
-- @param err the poll's error (a kumo error, nil on success)
-- @tparam table params the request
-- @tparam number t when the poll ended
-- @tparam[opt] number persist the wait's override of every acceptor's `persist`
-- @treturn table `{ transient=, state= ("success"|"failure"|"retry"), matched= (acceptor),
--   index=, pending= ({ acceptor=, since=, polls=, persist= } of a streak still short) }`
function judge.poll(def, streaks, out, err, params, t, persist)
  local transient = judge.transient(def, err, out, params)
  -- a throttled poll says nothing about the resource: streaks stay as they are
  if not transient then track_streaks(def, streaks, out, err, params, t, persist) end
  local matched, mi, pending
  for i, a in ipairs(def.acceptors) do
    local s = a.persist and streaks[i]
    if transient then
      -- a transient error keeps a streak pending (not matched, not broken)
      if s and not pending then pending = { acceptor = i, since = s.since, polls = s.polls,
        persist = persist or a.persist } end
    elseif a.persist then
      if s and s.ready then matched, mi = a, i break end
      if s and not pending then pending = { acceptor = i, since = s.since, polls = s.polls,
        persist = persist or a.persist } end
    elseif matches(a, out, err, params) then
      matched, mi = a, i
      break
    end
  end
  return { transient = transient, state = matched and matched.state or "retry", matched = matched,
    index = mi, pending = pending }
end

return judge
