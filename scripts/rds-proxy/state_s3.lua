--- The S3 state backend: the journal, the lock and the rollout record of
-- each pair as objects under `s3://bucket/prefix/`, so several machines (CI
-- jobs, people) share one state (rds-proxy/state.lua has the interface).
--
-- * `prefix/<pair>.json` the journal, replaced whole by each PutObject (an
--   object is written at once: a reader sees the old or the new one; in a
--   versioned bucket every journal stays as a version);
-- * `prefix/<pair>.lock` the lock (rds-proxy/s3_lock.lua);
-- * `prefix/rollout/<pair>.json` the pair's rollout record.
--
-- The journal holds ids and names only; no credential reaches any object.
-- @module rds-proxy.state_s3
local state = require "rds-proxy.state"
local s3_lock = require "rds-proxy.s3_lock"
local json = require "kumo.json"

local M = {}

local S3State = setmetatable({}, { __index = state.State })
S3State.__index = S3State

local function missing(err)
  return type(err) == "table" and (err.http_status == 404 or err.code == "NoSuchKey" or err.code == "NotFound")
end

--- The place's S3 client (made once, from its profile and region).
function M.client(where)
  if not where.client then
    where.client = require("kumo.aws").session{ profile = where.profile, region = where.region }:client("s3")
  end
  return where.client
end

-- The object's text and ETag, or nil when there is none.
local function get(where, key)
  local ok, out = pcall(M.client(where).GetObject, M.client(where), { Bucket = where.bucket, Key = key })
  if ok then return out.Body or "", out.ETag end
  if missing(out) then return nil end
  error(string.format("state: cannot read s3://%s/%s: %s", where.bucket, key, tostring(out)), 0)
end

local function put(where, key, text)
  local ok, err = pcall(M.client(where).PutObject, M.client(where),
    { Bucket = where.bucket, Key = key, Body = text, ContentType = "application/json" })
  if not ok then
    error(string.format("state: cannot write s3://%s/%s: %s", where.bucket, key, tostring(err)), 0)
  end
end

--- Check that the state bucket is there and reachable, before any AWS call
-- of the run. Returns nil, message naming the bucket and the fix.
function M.check(where)
  local ok, err = pcall(M.client(where).HeadBucket, M.client(where), { Bucket = where.bucket })
  if ok then return true end
  local how = string.format("profile %s, region %s", tostring(where.profile or "(default)"),
    tostring(where.region or "(default)"))
  if missing(err) or (type(err) == "table" and err.code == "NoSuchBucket") then
    return nil, string.format("state %s: the bucket %s does not exist (%s); create it "
      .. "(aws s3 mb s3://%s, versioning on is advised) or fix the state URL", where.url, where.bucket, how,
      where.bucket)
  end
  return nil, string.format("state %s: cannot reach the bucket %s with %s: %s; set state = { url = .., "
    .. "profile = .., region = .. } to credentials that may read and write it", where.url, where.bucket, how,
    tostring(err))
end

--- Open (or start) the journal of a pair.
-- @param where the S3 place (`state.parse`)
-- @param pair the pair's name
-- @return a State
function M.open(where, pair)
  M.client(where)
  local key = where.prefix .. pair .. ".json"
  local self = setmetatable({ where = where, pair = pair, key = key,
    path = "s3://" .. where.bucket .. "/" .. key,
    s3lock = s3_lock.new(where, where.prefix .. pair .. ".lock", pair) }, S3State)
  self:load()
  return self
end

function S3State:read_text()
  return (get(self.where, self.key))
end

function S3State:write_text(text)
  -- a run whose lease ran out (and was taken over) must not write over
  -- the journal its successor now keeps
  if self.s3lock.lost then error("state: " .. self.s3lock.lost .. "; nothing more is written by this run", 0) end
  put(self.where, self.key, text)
end

function S3State:remove_file()
  local c = M.client(self.where)
  local ok, err = pcall(c.DeleteObject, c, { Bucket = self.where.bucket, Key = self.key })
  if not ok and not missing(err) then
    error(string.format("state: cannot delete %s: %s", self.path, tostring(err)), 0)
  end
end

function S3State:holder()
  return self.s3lock:holder()
end

function S3State:lock(opts)
  if self.s3lock.etag then return true end
  self.s3lock:lock(opts)
  self.held = true
  local sched = require "kumo.sched"
  if self.s3lock.took_over and sched.current() then
    -- say whose lock this run took over (its lease had run out: that run died)
    sched.step(string.format("%s: took over the lock of %s (its lease had run out)", self.pair,
      state.describe_holder(self.s3lock.took_over)))
  end
  self:load()
  return true
end

function S3State:unlock()
  self.held = nil
  self.s3lock:unlock()
end

--- The rollout records under `prefix/rollout/`.
function M.records(where)
  local r = {}
  function r.get(pair)
    local text = get(where, where.prefix .. "rollout/" .. pair .. ".json")
    local note = text and json.decode(text)
    return type(note) == "table" and note or nil
  end
  function r.put(pair, record)
    put(where, where.prefix .. "rollout/" .. pair .. ".json", json.encode(record))
  end
  return r
end

--- The journal's ETag ("none" without one): changes with every write.
function M.journal_hash(where, pair)
  local c = M.client(where)
  local ok, out = pcall(c.HeadObject, c, { Bucket = where.bucket, Key = where.prefix .. pair .. ".json" })
  if ok then return out.ETag or "none" end
  if missing(out) then return "none" end
  error(string.format("state: cannot read s3://%s/%s%s.json: %s", where.bucket, where.prefix, pair,
    tostring(out)), 0)
end

return M
