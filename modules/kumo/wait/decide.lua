--- kumo.wait.decide: the retry decision of a wait — after a poll no
-- acceptor ended, how long to sleep before the next one, or why to give up.
-- @module kumo.wait.decide
local decide = {}

--- Smithy's waiter delay for `attempt` (1-based count of polls done so far).
-- @tparam number attempt polls done (>= 1)
-- @tparam number min_delay seconds
-- @tparam number max_delay seconds
-- @tparam number remaining seconds left in the budget
-- @tparam[opt] function random `random()` in [0,1) (math.random by default)
-- @treturn number seconds to sleep (<= 0 means: no time for another poll)
function decide.smithy_delay(attempt, min_delay, max_delay, remaining, random)
  random = random or math.random
  local delay
  local ceiling = math.log(max_delay / min_delay, 2) + 1
  if attempt > ceiling then
    delay = max_delay
  else
    delay = min_delay * 2 ^ (attempt - 1)
    if delay > max_delay then delay = max_delay end
  end
  if delay > min_delay then
    delay = min_delay + random() * (delay - min_delay)
  end
  if remaining - delay <= min_delay then
    delay = remaining - min_delay
  end
  return delay
end

--- After poll `attempt`: the sleep before the next poll, or what ran out.
-- @tparam table st the wait's settings (kumo.wait.settings)
-- @tparam number attempt polls done (>= 1)
-- @tparam number t now (the settings' clock)
-- @tparam[opt] number deadline the budget's end (Smithy mode)
-- @tparam function fmt_duration formats seconds for the reason
-- @treturn number|nil seconds to sleep
-- @treturn string|nil why to give up (`"max attempts (40) exceeded"`, `"timeout (30m00s) exceeded"`)
function decide.next(st, attempt, t, deadline, fmt_duration)
  if st.max_attempts and attempt >= st.max_attempts then
    return nil, string.format("max attempts (%d) exceeded", st.max_attempts)
  end
  if not deadline then return st.delay end
  local min_delay = st.min_delay
  local remaining = deadline - t
  local out_of = string.format("timeout (%s) exceeded", fmt_duration(st.budget))
  if remaining <= min_delay then return nil, out_of end
  local sleep_for = st.fixed or decide.smithy_delay(attempt, min_delay, st.max_delay, remaining, st.random)
  if sleep_for > remaining - min_delay then sleep_for = remaining - min_delay end
  if sleep_for <= 0 then return nil, out_of end
  return sleep_for
end

return decide
