--- kumo.sched: where kumo waits, and how it waits for many things at once.
--
-- Tasks are Lua coroutines. Every wait in kumo (an HTTP request, a sleep, a
-- waiter's delay, a token of the rate limiter, another task) goes through this
-- module: inside a task it suspends the task and lets the others run; outside
-- one it drives the scheduler until that one wait is over, so the same client
-- and waiter code works in a plain script and in a fleet of tasks.
--
-- The loop is driven by kumo.http's single curl multi handle
-- (`http.start` / `http.poll`): one thread, no busy waiting; it sleeps in
-- `http.poll` (or `clock.sleep` when nothing is in flight) until the next
-- completion or timer.
--
--     local results, errs = sched.parallel(accounts, function(acct)
--       local s = session:assume_role{ RoleArn = acct.role }
--       return s:client("rds"):wait("DBProxyAvailable", {...})
--     end, { name = function(acct) return acct.id end, deadline = 1800 })
--
-- A failing task never stops the others: its error object (e.g. a kumo.errors
-- object, with its fields and `__tostring`) is kept as raised. Cancellation
-- (`task:cancel()`) and deadlines raise a `kumo.errors` object with
-- `kind = "cancelled"` (code `TaskCancelled` or `DeadlineExceeded`) at the
-- task's current wait; a task that catches it may clean up, later waits work.
--
-- Limits on requests in flight and per-account rates: see kumo.ratelimit.
-- @module kumo.sched
local errors = require "kumo.errors"
local ratelimit = require "kumo.ratelimit"

local sched = {}

-- The native side, loaded on first use so `require "kumo.sched"` costs nothing.
-- Tests may replace it (`sched._set_backend`).
local backend

local function be()
  if not backend then
    local http = require "kumo.http"
    local clock = require "kumo.clock"
    backend = {
      start = http.start, poll = http.poll, request = http.request, cancel = http.cancel,
      now = clock.monotonic, sleep = clock.sleep,
    }
  end
  return backend
end

-- Scheduler state (one per process: there is one curl multi handle).
local S

local function fresh_state()
  return {
    ready = {}, rhead = 1, rtail = 0, -- queue of { task, values }
    timers = {}, tseq = 0,           -- binary heap of { at, seq, task, tseq | fn }
    inflight = {}, n_inflight = 0,   -- http id -> { task, tseq, host }
    slotq = {},                      -- requests waiting for a slot: { task, tseq, host }
    live = {}, n_live = 0,           -- unfinished tasks
    current = nil,                   -- the task running now
    depth = 0,                       -- nesting of loops (blocking waits inside tasks)
    progress = nil,
    next_id = 0,
    unobserved = {},                 -- failed tasks nobody looked at
    counters = { tasks = 0, requests = 0, peak_in_flight = 0, peak_tasks = 0 },
  }
end
S = fresh_state()

local SUSPEND = setmetatable({}, { __name = "kumo.sched.suspend" })

local function now() return be().now() end

-- Ready queue ------------------------------------------------------------------

local function push_ready(task, values)
  S.rtail = S.rtail + 1
  S.ready[S.rtail] = { task, values }
end

local function pop_ready()
  local h = S.rhead
  if h > S.rtail then return nil end
  local e = S.ready[h]
  S.ready[h] = nil
  if h == S.rtail then S.rhead, S.rtail = 1, 0 else S.rhead = h + 1 end
  return e
end

-- Timers (binary heap ordered by time, then insertion) ---------------------------

local function before(a, b)
  if a.at ~= b.at then return a.at < b.at end
  return a.seq < b.seq
end

local function heap_push(e)
  local h = S.timers
  S.tseq = S.tseq + 1
  e.seq = S.tseq
  local i = #h + 1
  h[i] = e
  while i > 1 do
    local p = i // 2
    if before(h[i], h[p]) then h[i], h[p] = h[p], h[i]; i = p else break end
  end
end

local function heap_pop()
  local h = S.timers
  local top = h[1]
  local n = #h
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and before(h[l], h[m]) then m = l end
    if r <= n and before(h[r], h[m]) then m = r end
    if m == i then break end
    h[i], h[m] = h[m], h[i]
    i = m
  end
  return top
end

-- Tasks -------------------------------------------------------------------------

--- A task: one coroutine run by the scheduler.
-- Fields: `name`, `id`, `status` (`"ready"`, `"running"`, `"waiting"`,
-- `"done"`, `"failed"`, `"cancelled"`), `error` (the error object as raised),
-- `traceback`, `started`, `finished` (monotonic seconds), `parent`.
-- @type Task
local Task = {}
Task.__index = Task
Task.__name = "kumo.task"

function Task.__tostring(t)
  return "task " .. t.name .. " (" .. t.status .. ")"
end

-- The task a report is about: hidden helper tasks report as their parent.
local function visible(t)
  while t and t.hidden do t = t.parent end
  return t
end

local function report(method, t, ...)
  local p = S.progress
  if not p or not t or t.hidden or t.quiet then return end
  if method == "task_started" then t.reported = true elseif not t.reported then return end
  local f = p[method]
  if f then f(p, t.name, ...) end
end

-- Wake a suspended task with `ok, ...`. `tseq` identifies the wait: a stale
-- wake (the task moved on, e.g. it was cancelled) is ignored.
local function wake(t, tseq, ...)
  if t.finished or t.tseq ~= tseq or t.status ~= "waiting" then return false end
  t.tseq = tseq + 1
  t.status = "ready"
  push_ready(t, table.pack(...))
  return true
end

local finish

local function make_error(code, message)
  return errors.new{ kind = "cancelled", code = code, message = message }
end

local drop_request -- defined with the loop

local function cancel(t, err)
  if t.finished then return false end
  if t.cancel_pending or t.cancelled then return false end
  t.cancelled = true
  for child in pairs(t.children) do cancel(child, err) end
  if t.status == "waiting" then
    t.cancel_sent = err
    local id = t.http_id
    if id then drop_request(id) end
    wake(t, t.tseq, false, err)
  elseif t.status == "ready" and not t.begun then
    -- never ran: finish it without running it
    t.tseq = t.tseq + 1
    t.cancel_sent = err
    finish(t, false, err)
  else
    -- running (or ready with a result in hand): raise at its next wait
    t.cancel_pending = err
  end
  return true
end

--- Cancel the task (and the tasks it spawned that are still running).
-- The task sees `err` raised at its current or next wait.
-- @param[opt] err the error to raise (default: a `TaskCancelled` kumo error)
-- @treturn boolean false if it had already finished or been cancelled
function Task:cancel(err)
  err = err or make_error("TaskCancelled", "task " .. self.name .. " was cancelled")
  return cancel(self, err)
end

--- Has the task finished (done, failed or cancelled)?
-- @treturn boolean
function Task:done()
  return self.finished ~= nil
end

--- The outcome of a finished task, without raising.
-- @treturn boolean ok
-- @return the task's return values, or its error
function Task:result()
  if not self.finished then error("task " .. self.name .. " has not finished (use task:wait())", 2) end
  S.unobserved[self] = nil
  if self.ok then return true, table.unpack(self.values, 1, self.values.n) end
  return false, self.error
end

--- Seconds the task has run (until now, or until it finished).
-- @treturn number
function Task:elapsed()
  if not self.started then return 0 end
  return (self.finished or now()) - self.started
end

-- Suspend the running task until something wakes it; returns what the waker
-- passed (after the leading ok flag), or raises the error it passed.
local function suspend(t)
  local err = t.cancel_pending
  if err then
    t.cancel_pending = nil
    t.cancel_sent = err
    error(err, 0)
  end
  t.status = "waiting"
  local r = table.pack(coroutine.yield(SUSPEND))
  if r[1] == false then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

-- Which task is running in this coroutine (nil in the main thread or in a
-- coroutine a task made for itself, e.g. an iterator).
local by_co = setmetatable({}, { __mode = "k" })

local function in_task()
  local t = by_co[coroutine.running()]
  return t
end

finish = function(t, ok, errv)
  t.finished = now()
  t.ok = ok
  if ok then
    t.status = "done"
  else
    t.error = errv
    t.status = (t.cancel_sent ~= nil and errv == t.cancel_sent) and "cancelled" or "failed"
    if t.status == "failed" and not t.hidden then S.unobserved[t] = true end
  end
  if S.live[t] then S.live[t] = nil; S.n_live = S.n_live - 1 end
  if t.parent then t.parent.children[t] = nil end
  for _, j in ipairs(t.joiners) do wake(j[1], j[2], true) end
  t.joiners = {}
  if t.reported then
    local summary
    if ok then summary = t.summary or (type(t.values[1]) ~= "table" and t.values[1] ~= nil
      and tostring(t.values[1]) or nil) end
    report("task_done", t, ok, ok and summary or errv)
  end
end

local function resume(t, values)
  if t.finished then return end
  local prev = S.current
  S.current = t
  t.status = "running"
  if not t.begun then
    t.begun = true
    t.started = now()
    if not t.defer_report then report("task_started", t) end
  end
  local ok, y = coroutine.resume(t.co, table.unpack(values, 1, values.n))
  S.current = prev
  if coroutine.status(t.co) == "dead" then
    if not ok then -- only if the wrapper itself failed (it catches the body's errors)
      t.traceback = debug.traceback(t.co)
      finish(t, false, y)
    end
    return
  end
  if y ~= SUSPEND then
    -- a plain coroutine.yield() in a task: a cooperative pause
    t.status = "waiting"
    wake(t, t.tseq)
  end
end

local function traceback_handler(t)
  return function(e)
    t.traceback = debug.traceback(type(e) == "string" and e or tostring(e), 2)
    return e
  end
end

--- Start a task running `fn(...)`. It runs when the scheduler runs: inside
-- a task, at the current task's next wait; outside, at the next wait of the
-- script (a request, `sched.sleep`, `task:wait()`, `sched.run`).
-- @tparam function fn
-- @tparam[opt] table opts `name` (for progress and errors; default `task-N`),
--   `args` (a list passed to `fn`), `quiet` (no progress reports)
-- @treturn Task
function sched.spawn(fn, opts)
  if type(fn) ~= "function" then
    error("sched.spawn: expects a function (got " .. type(fn) .. ")", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("sched.spawn: opts must be a table like { name = \"x\" }", 2) end
  S.next_id = S.next_id + 1
  local parent = S.current
  local t = setmetatable({
    id = S.next_id, name = opts.name and tostring(opts.name) or ("task-" .. S.next_id),
    status = "ready", tseq = 0, children = {}, joiners = {}, parent = parent,
    hidden = opts.hidden, quiet = opts.quiet, defer_report = opts.defer_report,
  }, Task)
  local a = opts.args
  local args = a and table.pack(table.unpack(a, 1, a.n or #a)) or table.pack()
  t.co = coroutine.create(function()
    local r = table.pack(xpcall(fn, traceback_handler(t), table.unpack(args, 1, args.n)))
    if r[1] then
      t.values = table.pack(table.unpack(r, 2, r.n))
      finish(t, true)
    else
      t.values = { n = 0 }
      finish(t, false, r[2])
    end
  end)
  by_co[t.co] = t
  if parent then parent.children[t] = true end
  S.live[t] = true
  S.n_live = S.n_live + 1
  if S.n_live > S.counters.peak_tasks then S.counters.peak_tasks = S.n_live end
  if not t.hidden then S.counters.tasks = S.counters.tasks + 1 end
  push_ready(t, table.pack())
  return t
end

-- The loop ------------------------------------------------------------------------

local limiter = ratelimit.default

-- Give free slots to queued requests, in order (a request for a host at its
-- limit does not hold up requests for other hosts).
local function grant_slots()
  local q = S.slotq
  if #q == 0 then return end
  local lim = limiter()
  local keep = {}
  for _, e in ipairs(q) do
    local t = e[1]
    local gone = t.finished or t.tseq ~= e[2]  -- cancelled: dropped
    if not gone then
      if lim:try_acquire(e[3]) then
        wake(t, e[2], true)
      else
        keep[#keep + 1] = e
      end
    end
  end
  S.slotq = keep
end

-- Stop waiting for request `id` (its task was cancelled): abort the transfer
-- when the host can, and free its slot now.
drop_request = function(id)
  local e = S.inflight[id]
  if not e then return end
  local cancel_fn = be().cancel
  if not cancel_fn or not cancel_fn(id) then return end -- it completes later, ignored
  S.inflight[id] = nil
  S.n_inflight = S.n_inflight - 1
  limiter():release(e.host)
  grant_slots()
end

-- Collect HTTP completions (waits at most `timeout`).
local function pump(timeout)
  local done = be().poll(timeout)
  local lim = limiter()
  for _, c in ipairs(done) do
    local e = S.inflight[c.id]
    if e then
      S.inflight[c.id] = nil
      S.n_inflight = S.n_inflight - 1
      lim:release(e.host)
      wake(e.task, e.tseq, true, c)
    end
  end
  grant_slots()
end

local function fire_timers(t)
  local h = S.timers
  while h[1] and h[1].at <= t do
    local e = heap_pop()
    if e.fn then e.fn() else wake(e.task, e.tseq, true) end
  end
end

local function run_ready()
  while true do
    local e = pop_ready()
    if not e then return end
    resume(e[1], e[2])
  end
end

local function live_names()
  local names = {}
  for t in pairs(S.live) do names[#names + 1] = t.name end
  table.sort(names)
  return table.concat(names, ", ")
end

-- Run the loop until `done()` is true.
local function loop(done)
  S.depth = S.depth + 1
  local ok, err = pcall(function()
    while true do
      run_ready()
      if done() then return end
      local t = now()
      fire_timers(t)
      if S.rhead <= S.rtail then goto continue end
      do
        local wait
        local top = S.timers[1]
        if top then wait = top.at - t; if wait < 0 then wait = 0 end end
        if S.n_inflight == 0 and not wait then
          -- every task waits for another: fail them all rather than hang
          local err = make_error("Deadlock", "no task can run and nothing is awaited "
            .. "(tasks waiting on each other: " .. live_names() .. ")")
          local woken = 0
          for x in pairs(S.live) do
            if x.status == "waiting" then
              x.cancel_sent = err
              if wake(x, x.tseq, false, err) then woken = woken + 1 end
            end
          end
          if woken == 0 then error("kumo.sched: " .. err.message, 0) end
          goto continue
        end
        local p = S.progress
        if p and p.tick then
          p:tick()
          if not wait or wait > 1 then wait = 1 end
        end
        if S.n_inflight > 0 then pump(wait or 60) else be().sleep(wait) end
      end
      ::continue::
    end
  end)
  S.depth = S.depth - 1
  if not ok then error(err, 0) end
end

-- Waiting on things ------------------------------------------------------------------

-- Run `fn` to completion from outside any task: as a hidden task, driving the
-- loop (other tasks make progress meanwhile).
local function blocking(fn, ...)
  local t = sched.spawn(fn, { hidden = true, args = table.pack(...) })
  loop(function() return t.finished ~= nil end)
  if t.ok then return table.unpack(t.values, 1, t.values.n) end
  error(t.error, 0)
end

local function task_sleep(t, seconds)
  heap_push{ at = now() + seconds, task = t, tseq = t.tseq }
  suspend(t)
end

--- Sleep `seconds` (yields inside a task, blocks outside).
-- @tparam number seconds
function sched.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("sched.sleep: seconds must be a number >= 0 (got " .. tostring(seconds) .. ")", 2)
  end
  local t = in_task()
  if not t then return blocking(sched.sleep, seconds) end
  task_sleep(t, seconds)
end

--- Let the other ready tasks run (a no-op outside tasks).
function sched.yield()
  local t = in_task()
  if not t then return end
  if t.cancel_pending then suspend(t) end -- raises
  t.status = "waiting"
  wake(t, t.tseq, true) -- queue ourselves behind the tasks already ready
  local r = table.pack(coroutine.yield(SUSPEND))
  if r[1] == false then error(r[2], 0) end
end

local function host_of(url)
  local h = type(url) == "string" and url:match("^%a[%w+.-]*://([^/?#]+)")
  if not h then return "" end
  return (h:gsub("^.*@", "")):lower()
end

local function task_request(t, req, opts)
  local key = opts and opts.limit_key
  local lim = limiter()
  if key then
    local w = lim:reserve(key, now())
    if w > 0 then task_sleep(t, w) end
  end
  local b = be()
  if not b.start then
    -- a host without the non-blocking primitives: plain blocking call
    S.counters.requests = S.counters.requests + 1
    return b.request(req)
  end
  local host = host_of(req.url)
  if not lim:try_acquire(host) then
    S.slotq[#S.slotq + 1] = { t, t.tseq, host }
    suspend(t) -- woken holding a slot
  end
  local ok, id, msg, code = pcall(b.start, req)
  if not ok or not id then
    lim:release(host)
    grant_slots()
    if not ok then error(id, 0) end
    return nil, msg, code
  end
  S.inflight[id] = { task = t, tseq = t.tseq, host = host }
  S.n_inflight = S.n_inflight + 1
  local c = S.counters
  c.requests = c.requests + 1
  if S.n_inflight > c.peak_in_flight then c.peak_in_flight = S.n_inflight end
  t.http_id = id
  local ok2, done = pcall(suspend, t)
  t.http_id = nil
  if not ok2 then error(done, 0) end
  -- What is throttling is the client's call (its retry classification feeds
  -- the key's adaptive limiter): nothing here reads the answer.
  if done.res then return done.res end
  return nil, done.err, done.code
end

--- Send an HTTP request (see `kumo.http.request`): same results, yielding
-- inside a task. Waits first for a token of `opts.limit_key`'s buckets and for
-- a free slot (kumo.ratelimit). Throttling answers are not looked at here:
-- the client classifies them and tells the limiter (`ratelimit.on_response`).
-- @tparam table req as for `http.request`
-- @tparam[opt] table opts `limit_key` (`"<account>/<service>/<region>"`: the
--   rate buckets)
-- @treturn table|nil res
-- @treturn string msg on transport failure
-- @treturn string code curl's error name
function sched.request(req, opts)
  if type(req) ~= "table" then
    error("sched.request: expects a request table { method =, url =, ... } (got " .. type(req) .. ")", 2)
  end
  local t = in_task()
  if not t then return blocking(sched.request, req, opts) end
  if t.cancel_pending then suspend(t) end -- raises
  return task_request(t, req, opts)
end

--- Wait for the task to finish; returns its values or raises its error.
-- @treturn ... the task's return values
function Task:wait()
  local cur = in_task()
  if cur == self then error("task " .. self.name .. " cannot wait for itself", 2) end
  if not self.finished then
    if cur then
      self.joiners[#self.joiners + 1] = { cur, cur.tseq }
      suspend(cur)
    else
      loop(function() return self.finished ~= nil end)
    end
  end
  S.unobserved[self] = nil
  if self.ok then return table.unpack(self.values, 1, self.values.n) end
  error(self.error, 0)
end

--- A counting semaphore (at most `n` holders at a time).
-- @tparam integer n
-- @treturn table with `:acquire()` (waits) and `:release()`
function sched.semaphore(n)
  if type(n) ~= "number" or n < 1 then error("sched.semaphore: n must be a number >= 1", 2) end
  -- waiters[head..tail] wait in order; `tail` is kept, not `#waiters`: the
  -- length of a table whose first slots were cleared can be 0, which put a
  -- new waiter behind `head` where no release found it again
  local sem = { n = n, waiters = {}, head = 1, tail = 0 }
  function sem.acquire(self)
    if self.n > 0 and self.head > self.tail then self.n = self.n - 1 return end
    local t = in_task()
    if not t then return blocking(self.acquire, self) end
    self.tail = self.tail + 1
    self.waiters[self.tail] = { t, t.tseq }
    suspend(t) -- woken holding the permit
  end
  function sem.release(self)
    local w = self.waiters
    while self.head <= self.tail do
      local e = w[self.head]
      w[self.head] = nil
      self.head = self.head + 1
      if wake(e[1], e[2], true) then return end
    end
    self.waiters, self.head, self.tail = {}, 1, 0
    self.n = self.n + 1
  end
  return sem
end

-- Deadlines and running ------------------------------------------------------------

local function deadline_timer(seconds, tasks_fn)
  local e = { at = now() + seconds }
  e.fn = function()
    if e.off then return end
    local err = make_error("DeadlineExceeded",
      string.format("deadline of %g s passed", seconds))
    for _, t in ipairs(tasks_fn()) do cancel(t, err) end
  end
  heap_push(e)
  return e
end

local function check_deadline(v, where)
  if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0) then
    error(where .. ": deadline must be a number of seconds > 0 (got " .. tostring(v) .. ")", 3)
  end
end

local function with_progress(p, fn)
  if not p then return fn() end
  local prev = S.progress
  S.progress = p
  local r = table.pack(pcall(fn))
  S.progress = prev
  if p.finish and not prev then p:finish() end
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

local function warn_unobserved()
  for t in pairs(S.unobserved) do
    if not S.live[t] then
      io.stderr:write("kumo: task ", t.name, " failed and nobody waited for it: ",
        tostring(t.error), "\n")
    end
  end
  S.unobserved = {}
end

--- Run `main` as a task and drive the scheduler until every task has finished
-- (called from a task: until `main` has finished). Returns `main`'s values or
-- raises its error (other tasks' failures stay in their tasks).
-- @tparam[opt] function main
-- @tparam[opt] table opts `deadline` (seconds: then every task is cancelled
--   with `DeadlineExceeded`), `name`, `progress` (a kumo.progress reporter)
-- @return main's values
function sched.run(main, opts)
  opts = opts or {}
  check_deadline(opts.deadline, "sched.run")
  if main ~= nil and type(main) ~= "function" then
    error("sched.run: expects a function (got " .. type(main) .. ")", 2)
  end
  return with_progress(opts.progress, function()
    local t = main and sched.spawn(main, { name = opts.name or "main", quiet = not opts.name })
    local dl
    if in_task() or S.depth > 0 then
      if not t then return end
      if opts.deadline then dl = deadline_timer(opts.deadline, function() return { t } end) end
      local r = table.pack(pcall(t.wait, t))
      if dl then dl.off = true end
      if not r[1] then error(r[2], 0) end
      return table.unpack(r, 2, r.n)
    end
    if opts.deadline then
      dl = deadline_timer(opts.deadline, function()
        local list = {}
        for x in pairs(S.live) do list[#list + 1] = x end
        return list
      end)
    end
    local ok, err = pcall(loop, function() return S.n_live == 0 end)
    if dl then dl.off = true end
    if not ok then error(err, 0) end
    if t then S.unobserved[t] = nil end
    warn_unobserved()
    if not t then return end
    if t.ok then return table.unpack(t.values, 1, t.values.n) end
    error(t.error, 0)
  end)
end

local function task_name(opts, item, i)
  local n = opts.name
  if type(n) == "function" then return tostring(n(item, i)) end
  if type(n) == "string" then return n .. "-" .. i end
  if type(item) == "string" or type(item) == "number" then return tostring(item) end
  if type(item) == "table" and (type(item.name) == "string" or type(item.id) == "string") then
    return item.name or item.id
  end
  return "#" .. i
end

--- Run functions as tasks at once and wait for all of them.
--
--     sched.parallel{ fn1, fn2 }                  -- a list of functions
--     sched.parallel(items, fn [, opts])          -- fn(item, i) per item
--
-- @param fns a list of functions, or a list of items
-- @tparam[opt] function fn called as `fn(item, i)` for each item
-- @tparam[opt] table opts `name` (a function `(item, i)` → name, or a prefix),
--   `limit` (most tasks running at once), `deadline` (seconds, for the whole
--   group), `progress` (a kumo.progress reporter)
-- @treturn table results: `results[i]` is task i's first return value
-- @treturn table errs: `errs[i]` is task i's error object (nil if it succeeded)
-- @treturn table the tasks (all values: `tasks[i]:result()`)
function sched.parallel(fns, fn, opts)
  if type(fns) ~= "table" then
    error("sched.parallel: expects a list of functions, or a list and a function", 2)
  end
  if type(fn) == "table" and opts == nil then fn, opts = nil, fn end
  opts = opts or {}
  if fn ~= nil and type(fn) ~= "function" then
    error("sched.parallel: the second argument must be a function fn(item, i) (got " .. type(fn) .. ")", 2)
  end
  check_deadline(opts.deadline, "sched.parallel")
  if opts.limit ~= nil and (type(opts.limit) ~= "number" or opts.limit < 1) then
    error("sched.parallel: limit must be a number >= 1 (got " .. tostring(opts.limit) .. ")", 2)
  end
  local n = #fns
  for i = 1, n do
    if not fn and type(fns[i]) ~= "function" then
      error("sched.parallel: item " .. i .. " is a " .. type(fns[i])
        .. ", not a function (pass fn as the second argument to map over a list)", 2)
    end
  end
  return with_progress(opts.progress, function()
    local sem = opts.limit and sched.semaphore(opts.limit)
    local tasks = {}
    for i = 1, n do
      local item = fns[i]
      local body = fn and function() return fn(item, i) end or item
      local name = task_name(opts, fn and item or nil, i)
      if fn == nil and not opts.name then name = "#" .. i end
      local run = body
      if sem then
        run = function()
          sem:acquire()
          -- the guard is held for its __close only
          -- luacheck: push ignore 211
          local guard <close> = setmetatable({}, { __close = function() sem:release() end })
          -- luacheck: pop
          local t = in_task()
          report("task_started", t)
          return body()
        end
      end
      tasks[i] = sched.spawn(run, { name = name, defer_report = sem ~= nil })
    end
    local dl
    if opts.deadline then dl = deadline_timer(opts.deadline, function() return tasks end) end
    local cur = in_task()
    for i = 1, n do
      local t = tasks[i]
      if not t.finished then
        if cur then
          t.joiners[#t.joiners + 1] = { cur, cur.tseq }
          suspend(cur)
        else
          loop(function() return t.finished ~= nil end)
        end
      end
    end
    if dl then dl.off = true end
    local results, errs = {}, {}
    for i = 1, n do
      local t = tasks[i]
      S.unobserved[t] = nil
      if t.ok then results[i] = t.values[1] else errs[i] = t.error end
    end
    return results, errs, tasks
  end)
end

-- Progress ----------------------------------------------------------------------------

--- The task running now (nil outside tasks).
-- @treturn Task|nil
function sched.current()
  return visible(S.current)
end

--- Report the current task's step (shown by the progress reporter).
-- @tparam string text
function sched.step(text)
  local t = visible(S.current)
  if not t then return end
  t.step = text
  report("step", t, text)
end

--- Report a waiter's poll for the current task: `waiter` (its name) saw `state`.
-- Waiters call this on each poll (see kumo.waiter).
-- @tparam string waiter
-- @param state the state seen (string, or a table with `state`)
function sched.poll(waiter, state)
  local t = visible(S.current)
  if not t then return end
  if type(state) == "table" then state = state.state or state.status or state.last_state end
  report("poll", t, waiter, state ~= nil and tostring(state) or nil, t:elapsed())
end

--- Set the progress reporter used by tasks (nil: none).
-- @param p a kumo.progress reporter
-- @return the previous one
function sched.set_progress(p)
  local prev = S.progress
  S.progress = p
  return prev
end

--- Monotonic time, seconds.
-- @treturn number
function sched.now()
  return now()
end

--- Scheduler counters: `tasks` (spawned), `live`, `requests`, `in_flight`,
-- `peak_in_flight`, `peak_tasks`, `queued` (waiting for a slot).
-- @treturn table
function sched.stats()
  local c = S.counters
  return { tasks = c.tasks, live = S.n_live, requests = c.requests, in_flight = S.n_inflight,
    peak_in_flight = c.peak_in_flight, peak_tasks = c.peak_tasks, queued = #S.slotq }
end

--- Replace the native side (tests): a table with `start`, `poll`, `request`,
-- `now`, `sleep` as in kumo.http / kumo.clock; nil restores the real one.
-- Forgets every task and request of the previous backend.
-- @tparam[opt] table b
function sched._set_backend(b)
  backend = b
  S = fresh_state()
end

--- Reset counters (benchmarks).
function sched.reset_stats()
  S.counters = { tasks = 0, requests = 0, peak_in_flight = 0, peak_tasks = S.n_live }
end

sched.Task = Task

return sched
