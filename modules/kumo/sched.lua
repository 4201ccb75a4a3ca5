--- kumo.sched: where kumo waits (HTTP and sleep).
-- Minimal blocking version; the coroutine scheduler over curl multi
-- (issue 5) replaces the bodies while keeping these functions.
-- @module kumo.sched
local http = require "kumo.http"
local clock = require "kumo.clock"

local sched = {}

--- Send an HTTP request (see `kumo.http.request`), yielding inside a task.
function sched.request(req)
  return http.request(req)
end

--- Sleep `seconds`, yielding inside a task.
function sched.sleep(seconds)
  return clock.sleep(seconds)
end

return sched
