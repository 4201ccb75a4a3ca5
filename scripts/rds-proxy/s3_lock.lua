--- A pair's lock as an S3 object with a lease (the S3 state backend's
-- `lock`, `unlock`, `holder`; rds-proxy/state_s3.lua).
--
-- Taking it is a PutObject with `If-None-Match: *`: S3 "uploads the object
-- only if the object key name does not already exist ... Otherwise, Amazon S3
-- returns a 412 Precondition Failed error", so of two runs exactly one
-- creates it. Its body names the holder (`lock_id`, pid, host, action, start
-- time) and a lease: `expires`, seconds since the epoch. The holder renews
-- the lease every third of it from a scheduler task, each renewal a PutObject
-- with `If-Match` on the ETag it wrote last; a 412 there means another run
-- took the lock over, and the journal then refuses every write (`lost`).
--
-- A lock whose lease ran out belongs to a run that died (kill -9, a lost
-- machine): a waiter takes it over with `If-Match` on the ETag it read, so
-- of two takers one wins and the other reads the new holder. The lease
-- assumes the machines' clocks agree within a few seconds (NTP).
--
-- Releasing is a DeleteObject with `If-Match` on the holder's ETag: a run
-- that lost its lock never deletes its successor's. `force_unlock` deletes a
-- lock by its id, as `terraform force-unlock LOCK_ID` does.
-- @module rds-proxy.s3_lock
local json = require "kumo.json"
local sys = require "kumo.sys"
local clock = require "kumo.clock"

local M = {}

--- Default lease in seconds (`state = { lease = S }` changes it).
M.LEASE = 60

-- Locks this process holds: `release_all` drops them on the way out.
local held = setmetatable({}, { __mode = "k" })

local Lock = {}
Lock.__index = Lock

local function status_of(err)
  return type(err) == "table" and (err.http_status or err.status) or nil
end

local function code_of(err)
  return type(err) == "table" and err.code or nil
end

-- 412: the condition failed; 409 ConditionalRequestConflict: a conditional
-- write raced another ("you should retry"); both mean "look again".
local function conflict(err)
  local st = status_of(err)
  return st == 412 or st == 409 or code_of(err) == "PreconditionFailed"
    or code_of(err) == "ConditionalRequestConflict"
end

local function missing(err)
  local st = status_of(err)
  return st == 404 or code_of(err) == "NoSuchKey" or code_of(err) == "NotFound"
end

--- A lock at `key` of the place `where` (state.parse), for pair `pair`.
-- @param where the S3 place (`client`, `bucket`, `url`, `lease`)
-- @param key the object key
-- @param pair the pair's name (for messages)
function M.new(where, key, pair)
  return setmetatable({ where = where, key = key, pair = pair,
                        url = "s3://" .. where.bucket .. "/" .. key }, Lock)
end

--- Read the lock: its note and ETag, or nil when there is none.
function Lock:read()
  local ok, out = pcall(self.where.client.GetObject, self.where.client,
    { Bucket = self.where.bucket, Key = self.key })
  if not ok then
    if missing(out) then return nil end
    error(string.format("state: cannot read the lock %s: %s", self.url, tostring(out)), 0)
  end
  local note = json.decode(out.Body or "")
  return type(note) == "table" and note or {}, out.ETag
end

--- True when the note's lease ran out (its holder stopped renewing it).
function M.expired(note, now)
  return type(note.expires) ~= "number" or note.expires < (now or clock.now())
end

function Lock:note(action)
  local now = clock.now()
  local lease = self.where.lease or M.LEASE
  self.lock_id = self.lock_id or require("kumo.crypto").uuid4()
  self.started = self.started or clock.iso8601(now)
  return json.encode{ lock_id = self.lock_id, pid = sys.getpid(), host = sys.hostname(),
    action = action or self.action, started = self.started, lease_seconds = lease,
    expires = now + lease, expires_at = clock.iso8601(now + lease), renewed = clock.iso8601(now) }
end

-- PutObject of the note under a condition; the new ETag, or nil and the error.
function Lock:put(cond)
  local params = { Bucket = self.where.bucket, Key = self.key, Body = self:note(),
                   ContentType = "application/json" }
  for k, v in pairs(cond) do params[k] = v end
  local ok, out = pcall(self.where.client.PutObject, self.where.client, params)
  if ok then return out.ETag end
  return nil, out
end

--- Who holds the lock while its lease runs, or nil (a lock whose lease ran
-- out is a dead run's: nobody holds it). Takes nothing.
function Lock:holder()
  if self.etag then return nil end
  local note = self:read()
  if note and not M.expired(note) then return note end
  return nil
end

local function renew_loop(self)
  local sched = require "kumo.sched"
  local lease = self.where.lease or M.LEASE
  local every = lease / 3
  local next_at = clock.monotonic() + every
  while self.etag do
    if clock.monotonic() < next_at then
      sched.sleep(math.min(0.2, next_at - clock.monotonic()))
    else
      local etag, err = self:put{ IfMatch = self.etag }
      if not self.etag then break end  -- released while renewing: the delete has it
      if etag then
        self.etag, next_at = etag, clock.monotonic() + every
      elseif conflict(err) or missing(err) then
        -- someone took it over (our lease ran out) or forced it away
        self.lost = string.format("lost the lock %s (its lease ran out or it was force-unlocked)", self.url)
        self.etag = nil
        held[self] = nil
      else
        next_at = clock.monotonic() + 1  -- a passing fault: try again soon, the lease still runs
      end
    end
  end
end

--- Take the lock (see `State:lock` in rds-proxy/state.lua for `opts`).
-- Raises "pair P is locked by another kumo run (...)" when it stays held.
function Lock:lock(opts)
  opts = opts or {}
  if self.etag then return true end
  self.action, self.took_over = opts.action, nil
  local deadline = clock.monotonic() + (opts.timeout or 0)
  local sleep = opts.sleep or clock.sleep
  local told = false
  while true do
    local etag, err = self:put{ IfNoneMatch = "*" }
    local note, seen
    if not etag and conflict(err) then
      note, seen = self:read()
      if note and M.expired(note) then
        -- a dead run's lock: take it over, conditionally (one taker wins)
        etag, err = self:put{ IfMatch = seen }
        if etag then self.took_over = note end
      end
    end
    if etag then
      self.etag, self.lost = etag, nil
      held[self] = true
      local sched = require "kumo.sched"
      if sched.current() then
        sched.spawn(function() renew_loop(self) end, { name = "lease " .. self.pair, hidden = true })
      end
      return true
    end
    if not (conflict(err) or missing(err)) then
      error(string.format("state: cannot take the lock %s: %s", self.url, tostring(err)), 0)
    end
    if note and not M.expired(note) then
      if clock.monotonic() >= deadline then
        error(string.format("pair %s is locked by another kumo run (%s; lock %s); wait for it to end%s"
          .. ", or if that run is gone: --force-unlock %s", self.pair,
          require("rds-proxy.state").describe_holder(note), self.url,
          opts.timeout and opts.timeout > 0 and "" or ", pass --lock-timeout SECONDS to wait for it",
          tostring(note.lock_id)), 0)
      end
      if not told and opts.on_wait then opts.on_wait(note); told = true end
      if opts.check then opts.check() end
      sleep(math.min(opts.interval or 0.5, math.max(0.01, deadline - clock.monotonic())))
    end
    if not note or M.expired(note) then
      -- it went away or changed between our calls (or a write raced ours): again, after a breath
      if clock.monotonic() >= deadline + 30 then
        error(string.format("state: cannot take the lock %s: it keeps changing under this run (%s)", self.url,
          tostring(err)), 0)
      end
      sleep(0.05)
    end
  end
end

--- Release the lock (safe when not held): delete it if it is still ours.
function Lock:unlock()
  local etag = self.etag
  if not etag then return end
  self.etag = nil
  held[self] = nil
  local ok, err = pcall(self.where.client.DeleteObject, self.where.client,
    { Bucket = self.where.bucket, Key = self.key, IfMatch = etag })
  if not ok and not (conflict(err) or missing(err)) then
    error(string.format("state: cannot release the lock %s: %s; it frees itself when its lease ends, "
      .. "or --force-unlock %s", self.url, tostring(err), tostring(self.lock_id)), 0)
  end
end

--- Release every lock this process holds (the interrupted exit's last
-- step; a failure leaves the lease to run out).
function M.release_all()
  for lock in pairs(held) do pcall(lock.unlock, lock) end
end

--- Delete the lock whose id is `id` among the locks under the place's
-- prefix, as `terraform force-unlock`: refuses an id no lock has.
-- @return the pair's name and the note of the lock removed
function M.force_unlock(where, id)
  local found = {}
  for page in where.client:paginate("ListObjectsV2", { Bucket = where.bucket, Prefix = where.prefix }) do
    for _, obj in ipairs(page.Contents or {}) do
      local name = obj.Key:sub(#where.prefix + 1):match("^([^/]+)%.lock$")
      if name then
        local lock = M.new(where, obj.Key, name)
        local note, etag = lock:read()
        if note then
          if note.lock_id == id then
            local ok, err = pcall(where.client.DeleteObject, where.client,
              { Bucket = where.bucket, Key = obj.Key, IfMatch = etag })
            if not ok and conflict(err) then
              error(string.format("state: the lock of pair %s changed while it was being removed; "
                .. "look again (it may have been renewed or released)", name), 0)
            elseif not ok and not missing(err) then
              error(string.format("state: cannot remove %s: %s", lock.url, tostring(err)), 0)
            end
            return name, note
          end
          found[#found + 1] = string.format("%s (lock id %s)", name, tostring(note.lock_id))
        end
      end
    end
  end
  error(string.format("--force-unlock: no lock in %s has the id %s (%s); nothing was removed",
    where.url, id, #found > 0 and ("locks held: " .. table.concat(found, ", ")) or "no lock is held"), 0)
end

return M
