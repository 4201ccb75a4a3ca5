--- kumo.wait.settings: the first stage of a wait — its options checked and
-- its timing settled once (botocore mode: a fixed delay and an attempt
-- count; Smithy mode: a time budget with growing, jittered delays).
-- @module kumo.wait.settings
local errors = require "kumo.errors"

local settings = {}

--- The default ceiling of a Smithy-mode delay (seconds).
settings.DEFAULT_MAX_DELAY = 120

--- The options `waiter.wait` takes, with their types.
settings.KNOWN = { delay = "number", max_attempts = "number", timeout = "number",
  min_delay = "number", max_delay = "number", persist = "number", on_poll = "function",
  now = "function", sleep = "function", random = "function" }

local function usage(msg)
  errors.raise({ kind = "usage", code = "InvalidWaiterOption", message = msg })
end

--- Raise a usage error for an unknown option or one of the wrong type.
-- @tparam table opts
function settings.check_opts(opts)
  local known = settings.KNOWN
  for k, v in pairs(opts) do
    local want = known[k]
    if not want then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      usage(string.format("unknown waiter option %q (known: %s)", tostring(k), table.concat(names, ", ")))
    elseif type(v) ~= want then
      usage(string.format("waiter option '%s' must be a %s, got %s", k, want, type(v)))
    end
  end
end

--- Settle a wait's timing.
-- @tparam table def a checked waiter definition (`delay`, `maxAttempts`)
-- @tparam table opts the wait's options (checked here)
-- @tparam[opt] number default_delay the process-wide delay override (`waiter.defaults.delay`)
-- @treturn table `{ now=, sleep=, random=, budget=, fixed=, delay=, max_attempts=,
--   min_delay=, max_delay=, persist= }`
function settings.new(def, opts, default_delay)
  settings.check_opts(opts)
  local budget = opts.timeout
  if budget ~= nil and budget <= 0 then usage("waiter option 'timeout' must be seconds > 0") end
  local fixed = opts.delay or default_delay
  local min_delay = opts.min_delay or fixed or (def.delay > 0 and def.delay or 1)
  local max_delay = opts.max_delay or math.max(settings.DEFAULT_MAX_DELAY, min_delay)
  if min_delay > max_delay then usage("waiter option 'min_delay' must not exceed 'max_delay'") end
  return {
    now = opts.now or require("kumo.clock").monotonic,
    sleep = opts.sleep or require("kumo.sched").sleep,
    random = opts.random or math.random,
    budget = budget,
    fixed = fixed,
    delay = fixed or def.delay,
    max_attempts = opts.max_attempts or (budget == nil and def.maxAttempts) or nil,
    min_delay = min_delay,
    max_delay = max_delay,
    persist = opts.persist,
  }
end

return settings
