--- The state journal of one pair: what kumo created, written before and
-- after every mutating call, so that an interrupted `apply` resumes and a
-- `destroy` removes only what kumo made.
--
-- One JSON file per pair, `<dir>/<pair>.json`, replaced atomically (write
-- to a temporary file, fsync, rename). A kill at any point leaves either the
-- previous journal or the new one. The window between an AWS call and its
-- journal entry is closed by finding resources again by their
-- deterministic names and `kumo:pair` tags (each step's `read`).
-- @module rds-proxy.state
local json = require "kumo.json"
local sys = require "kumo.sys"
local clock = require "kumo.clock"

local State = {}
State.__index = State

local M = {}

--- Open (or start) the journal of a pair.
-- @param dir the state folder (created if missing)
-- @param pair the pair's name
-- @return a State
function M.open(dir, pair)
  assert(sys.mkdir(dir, 493))  -- 0755
  local path = dir .. "/" .. pair .. ".json"
  local self = setmetatable({ path = path, data = nil }, State)
  local f = io.open(path, "r")
  if f then
    local text = f:read("a")
    f:close()
    local data, err = json.decode(text)
    if type(data) ~= "table" then
      error(string.format("state: %s is not a kumo journal (%s); move it away to start afresh",
        path, tostring(err)), 0)
    end
    self.data = data
  end
  self.data = self.data or { pair = pair, version = 1, resources = {}, events = {} }
  self.data.resources = self.data.resources or {}
  self.data.events = self.data.events or {}
  return self
end

function State:save()
  self.data.updated = clock.iso8601(clock.now())
  assert(sys.write_atomic(self.path, json.encode(self.data), 420))  -- 0644
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

--- True when nothing is recorded any more.
function State:empty()
  return next(self.data.resources) == nil
end

function State:remove_file()
  os.remove(self.path)
end

return M
