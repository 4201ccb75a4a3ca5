--- The state journal of one pair: what kumo created, written before and
-- after every mutating call, so that an interrupted `apply` resumes and a
-- `destroy` removes only what kumo made.
--
-- One JSON file per pair, `<dir>/<pair>.json`, replaced atomically (write
-- to a temporary file, fsync, rename). A kill at any point leaves either the
-- previous journal or the new one. The window between an AWS call and its
-- journal entry is closed by finding resources again by their
-- deterministic names and `kumo:pair` tags (each step's `read`), and by the
-- idempotency token each intent keeps (`State:token`).
--
-- The journal holds ids and names only, yet it is kept private: the file is
-- 0600 in a folder made 0700.
--
-- A state backend also provides the pair's lock (`lock`, `unlock`,
-- `holder`): here an open-file lock on `<dir>/<pair>.lock`, which the
-- kernel drops when the process dies; a shared backend (S3) would provide
-- its own behind the same three methods.
--
-- The rollout record (`M.records`) is the third thing a backend keeps: one
-- small document per pair saying how its last rollout ended, so a rerun
-- goes on where one stopped. The interface a shared backend provides:
--
-- * `M.open(where, pair)` → a State: `load`, `save` (whole document,
--   atomic), `lock{...}`/`unlock`/`holder` (exclusive per pair, dropped
--   when the holder dies or its lease runs out);
-- * `M.records(where)` → `{ get = function(pair) → table|nil,
--   put = function(pair, table) }`, each pair its own document, so
--   shards writing at once never write the same one;
-- * `M.journal_hash(where, pair)` → a hash of the journal (S3: its ETag or
--   version id), so a record counts only while the journal is unchanged.
--
-- The S3 backend (`state = "s3://bucket/prefix"`, rds-proxy/state_s3.lua)
-- maps these to objects: `prefix/<pair>.json` (PutObject whole, versioned
-- when the bucket is), `prefix/<pair>.lock` created with `If-None-Match: *`
-- holding the note above plus a lease the holder renews
-- (rds-proxy/s3_lock.lua), `prefix/rollout/<pair>.json`.
--
-- Where the state lives (`where` below) is a folder path (a string) or the
-- table `M.parse` makes of an `s3://` URL; `M.open`, `M.records` and
-- `M.journal_hash` pick the backend from it.
-- @module rds-proxy.state
local json = require "kumo.json"
local sys = require "kumo.sys"
local clock = require "kumo.clock"

local State = {}
State.__index = State

local M = {}

--- The State class (the S3 backend's journal is one, with its own
-- `read_text`, `write_text` and `remove_file`).
M.State = State

local function s3(where)
  return type(where) == "table" and where.kind == "s3" and require("rds-proxy.state_s3") or nil
end

local function bad(field, msg) return nil, field .. ": " .. msg end

--- Read a `state` setting: `"s3://bucket/prefix"` or `{ url = "s3://..",
-- profile = .., region = .., lease = seconds }` (the profile and region
-- that reach the bucket; the lock's lease, default 60).
-- @param spec the setting
-- @param field its name in messages ("state", "--state")
-- @return the place `{ kind = "s3", url, bucket, prefix, profile, region, lease }`,
--   or nil and a message naming the field and the fix
function M.parse(spec, field)
  field = field or "state"
  local t = spec
  if type(spec) == "string" then t = { url = spec }
  elseif type(spec) ~= "table" then
    return bad(field, "must be \"s3://bucket/prefix\" or { url = \"s3://bucket/prefix\", profile = .., "
      .. "region = .. } (a local folder is state_dir)")
  end
  for k in pairs(t) do
    if not ({ url = 1, profile = 1, region = 1, lease = 1 })[k] then
      return bad(field, string.format("unknown key %s (known: url, profile, region, lease)", tostring(k)))
    end
  end
  local uf = type(spec) == "table" and field .. ".url" or field
  if type(t.url) ~= "string" then return bad(uf, "must be an S3 URL, e.g. \"s3://my-bucket/kumo\"") end
  local bucket, rest = t.url:match("^s3://([^/]*)(.*)$")
  if not bucket then
    return bad(uf, string.format("%q is not an S3 URL; write s3://BUCKET/PREFIX, e.g. \"s3://my-bucket/kumo\" "
      .. "(a local folder is state_dir or --state DIR)", t.url))
  end
  if bucket == "" then return bad(uf, string.format("%q names no bucket; write s3://BUCKET/PREFIX", t.url)) end
  if #bucket < 3 or #bucket > 63 or not bucket:match("^[a-z0-9][a-z0-9.-]*[a-z0-9]$") or bucket:find("..", 1, true) then
    return bad(uf, string.format("%q is not a valid bucket name (3-63 characters: a-z, 0-9, dots and hyphens, "
      .. "starting and ending with a letter or digit)", bucket))
  end
  local prefix = rest:gsub("^/+", ""):gsub("/+$", "")
  if prefix ~= "" then prefix = prefix .. "/" end
  if t.profile ~= nil and (type(t.profile) ~= "string" or t.profile == "") then
    return bad(field .. ".profile", "must be a profile name, e.g. \"state\" (default: base_profile, else the default chain)")
  end
  if t.region ~= nil and (type(t.region) ~= "string" or not t.region:match("^[a-z]+%-[a-z%-]+%-%d+$")) then
    return bad(field .. ".region", "must be a region name such as \"eu-west-1\" (default: the config's region)")
  end
  if t.lease ~= nil and (math.type(t.lease) ~= "integer" or t.lease < 2 or t.lease > 3600) then
    return bad(field .. ".lease", "must be whole seconds from 2 to 3600 (default 60): how long a lock outlives "
      .. "a run that died")
  end
  return { kind = "s3", url = "s3://" .. bucket .. "/" .. prefix, bucket = bucket, prefix = prefix,
           profile = t.profile, region = t.region, lease = t.lease }
end

--- The place as text for messages: the folder, or the s3:// URL.
function M.describe(where)
  return type(where) == "table" and where.url or tostring(where)
end

--- Open (or start) the journal of a pair.
-- @param dir the state folder (created if missing), or an S3 place (`M.parse`)
-- @param pair the pair's name
-- @return a State
function M.open(dir, pair)
  if s3(dir) then return s3(dir).open(dir, pair) end
  assert(sys.mkdir(dir, 448))  -- 0700
  local path = dir .. "/" .. pair .. ".json"
  local self = setmetatable({ path = path, dir = dir, pair = pair, lock_path = dir .. "/" .. pair .. ".lock",
                              data = nil }, State)
  self:load()
  return self
end

--- (Re)read the journal from its file (after taking the lock: the run that
-- held it may have changed it).
function State:load()
  self.data = nil
  local text = self:read_text()
  if text then
    local data, err = json.decode(text)
    if type(data) ~= "table" then
      error(string.format("state: %s is not a kumo journal (%s); move it away to start afresh",
        self.path, tostring(err)), 0)
    end
    self.data = data
  end
  self.data = self.data or { pair = self.pair, version = 1, resources = {}, events = {} }
  self.data.resources = self.data.resources or {}
  self.data.events = self.data.events or {}
  -- intents left by an earlier run: a create whose answer that run never saw
  self.prior = {}
  for key, r in pairs(self.data.resources) do
    if r.status == "creating" then self.prior[key] = true end
  end
end

--- The journal's text, or nil when there is none yet.
function State:read_text()
  local f = io.open(self.path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

--- Replace the journal with `text` at once.
function State:write_text(text)
  assert(sys.write_atomic(self.path, text, 384))  -- 0600
end

function State:save()
  self.data.updated = clock.iso8601(clock.now())
  self:write_text(json.encode(self.data))
end

--- Record the intent to create `key` before the call (crash window marker).
function State:intend(key, info)
  local r = self.data.resources[key] or {}
  r.status = r.id and r.status or "creating"
  r.info = info
  self.data.resources[key] = r
  self:save()
end

--- Record that kumo created `key` with AWS id `id` (and extra fields).
function State:created(key, id, extra)
  local r = self.data.resources[key] or {}
  r.status = "created"
  r.id = id
  r.created_by_kumo = true
  r.token = nil  -- a later create (a replacement) gets a new one
  for k, v in pairs(extra or {}) do r[k] = v end
  self.data.resources[key] = r
  self:save()
end

--- Record that `key` exists but was not made by kumo (adopted or external).
function State:external(key, id)
  local r = self.data.resources[key]
  if r and r.created_by_kumo then return end
  self.data.resources[key] = { status = "external", id = id, created_by_kumo = false }
  self:save()
end

--- Forget `key` after its deletion.
function State:deleted(key)
  self.data.resources[key] = nil
  self:save()
end

--- True when kumo created `key` (or started to: a `creating` entry whose
-- call may have gone through before a crash).
function State:owns(key)
  local r = self.data.resources[key]
  return r ~= nil and (r.created_by_kumo == true or r.status == "creating")
end

function State:get(key)
  return self.data.resources[key]
end

--- True when an earlier run left an intent for `key` (it may have made it).
function State:intended_before(key)
  return self.prior[key] == true
end

--- True when the journal holds an intent to create `key` (this run's or an
-- earlier one's) that is not yet recorded as created.
function State:intended(key)
  local r = self.data.resources[key]
  return r ~= nil and r.status == "creating"
end

--- The idempotency token of the create of `key`: made once, kept with the
-- intent in the journal, so every attempt and every rerun sends the same
-- one until the resource is recorded created.
function State:token(key)
  local r = self.data.resources[key]
  if not r then
    r = { status = "creating" }
    self.data.resources[key] = r
  end
  if not r.token then
    r.token = require("kumo.crypto").uuid4()
    self:save()
  end
  return r.token
end

--- True when nothing is recorded any more.
function State:empty()
  return next(self.data.resources) == nil
end

function State:remove_file()
  os.remove(self.path)
end

local function read_note(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local note = json.decode(text or "")
  return type(note) == "table" and note or nil
end

-- The holder writes its note just after it takes the lock: a reader that
-- comes in between finds the file empty (or half written), so it looks
-- again for a moment before it settles for "unknown".
local function read_holder(path, sleep)
  for _ = 1, 20 do
    local note = read_note(path)
    if note and note.pid then return note end
    sleep(0.025)
  end
  return read_note(path) or {}
end

--- Who holds the pair's lock, as `{ pid=, host=, started=, action= }`, or
-- nil when nobody does. Takes nothing (plan and verify only tell).
function State:holder()
  if self.held then return nil end
  if not sys.locked(self.lock_path) then return nil end
  return read_holder(self.lock_path, clock.sleep)
end

--- A holder as text: `pid 123 on host, apply since 2026-… (lock id …)`.
function M.describe_holder(h)
  return string.format("pid %s on %s, %s since %s%s", tostring(h.pid or "?"), tostring(h.host or "?"),
    tostring(h.action or "a run"), tostring(h.started or "?"),
    h.lock_id and string.format(" (lock id %s)", h.lock_id) or "")
end

--- Take the pair's exclusive lock. Waits up to `opts.timeout` seconds
-- (0 or nil: not at all), checking every `opts.interval` (0.2 s) through
-- `opts.sleep` (the scheduler's, so other pairs go on) and `opts.check`
-- (raises when the run was interrupted). Raises a message naming the
-- holder when the lock stays taken.
-- @param opts `{ action=, timeout=, sleep=, check=, on_wait = function(holder) }`
function State:lock(opts)
  opts = opts or {}
  if self.held then return true end
  local deadline = clock.monotonic() + (opts.timeout or 0)
  local told = false
  while true do
    local lk, why = sys.lock(self.lock_path)
    if lk then
      lk:note(json.encode{ pid = sys.getpid(), host = sys.hostname(), action = opts.action,
                           started = clock.iso8601(clock.now()), lock_id = require("kumo.crypto").uuid4() })
      self.held = lk
      self:load()
      return true
    end
    if why ~= "busy" then
      error(string.format("state: cannot lock %s: %s", self.lock_path, tostring(why)), 0)
    end
    local h = read_holder(self.lock_path, opts.sleep or clock.sleep)
    if clock.monotonic() >= deadline then
      error(string.format("pair %s is locked by another kumo run (%s; lock %s); wait for it to end%s",
        self.pair, M.describe_holder(h), self.lock_path,
        opts.timeout and opts.timeout > 0 and "" or ", or pass --lock-timeout SECONDS to wait for it"), 0)
    end
    if not told and opts.on_wait then opts.on_wait(h); told = true end
    if opts.check then opts.check() end
    local sleep = opts.sleep or clock.sleep
    sleep(math.min(opts.interval or 0.2, math.max(0.01, deadline - clock.monotonic())))
  end
end

--- The rollout record of a state folder: per pair, how its last rollout
-- ended (`<dir>/rollout/<pair>.json`, written atomically, 0600).
-- @param dir the state folder
-- @return `{ get = function(pair) → record or nil, put = function(pair, record) }`
function M.records(dir)
  if s3(dir) then return s3(dir).records(dir) end
  local folder = dir .. "/rollout"
  local r = {}
  function r.get(pair)
    local note = read_note(folder .. "/" .. pair .. ".json")
    return note
  end
  function r.put(pair, record)
    assert(sys.mkdir(dir, 448))
    assert(sys.mkdir(folder, 448))
    assert(sys.write_atomic(folder .. "/" .. pair .. ".json", json.encode(record), 384))
  end
  return r
end

--- A hash of a pair's journal as it is now ("none" without one): the
-- rollout record keeps it, and trusts itself only while it is unchanged.
function M.journal_hash(dir, pair)
  if s3(dir) then return s3(dir).journal_hash(dir, pair) end
  local f = io.open(dir .. "/" .. pair .. ".json", "r")
  if not f then return "none" end
  local text = f:read("a")
  f:close()
  return require("kumo.crypto").sha256_hex(text or "")
end

--- Release the pair's lock (safe to call when not held).
function State:unlock()
  if self.held then
    self.held:release()
    self.held = nil
  end
end

return M
