--- `application/vnd.amazon.eventstream` bodies, read whole: the binary
-- frames (prelude and message CRC-32 checked), their typed headers, and
-- the events of an `eventstream` shape (e.g. CloudWatch Logs StartLiveTail).
-- @module kumo.protocol.eventstream
local crc32 = require("kumo.crypto").crc32
local wire = require "kumo.protocol.wire"

local M = {}
local sub, unpack = string.sub, string.unpack

local function header_value(s, pos, t)
  if t == 0 then return true, pos end
  if t == 1 then return false, pos end
  if t == 2 then return unpack(">i1", s, pos) end
  if t == 3 then return unpack(">i2", s, pos) end
  if t == 4 then return unpack(">i4", s, pos) end
  if t == 5 then return unpack(">i8", s, pos) end
  if t == 6 or t == 7 then return unpack(">s2", s, pos) end
  if t == 8 then
    local ms, p = unpack(">i8", s, pos)
    return ms / 1000, p
  end
  if t == 9 then return sub(s, pos, pos + 15), pos + 16 end
  error("eventstream: unknown header type " .. t, 0)
end

--- Split a body into messages `{ headers = {name = value}, payload = bytes }`.
-- @raise on a truncated frame or a CRC mismatch
function M.messages(s)
  local out = {}
  local pos, n = 1, #s
  while pos <= n do
    if n - pos + 1 < 16 then error("eventstream: truncated frame", 0) end
    local total, hlen, pcrc = unpack(">I4I4I4", s, pos)
    if crc32(sub(s, pos, pos + 7)) ~= pcrc then error("eventstream: prelude CRC mismatch", 0) end
    if total < 16 or pos + total - 1 > n then error("eventstream: truncated frame", 0) end
    local mcrc = unpack(">I4", s, pos + total - 4)
    if crc32(sub(s, pos, pos + total - 5)) ~= mcrc then error("eventstream: message CRC mismatch", 0) end
    local headers = {}
    local hp, hend = pos + 12, pos + 12 + hlen
    while hp < hend do
      local name, t
      name, hp = unpack(">s1", s, hp)
      t, hp = unpack(">B", s, hp)
      headers[name], hp = header_value(s, hp, t)
    end
    out[#out + 1] = { headers = headers, payload = sub(s, hend, pos + total - 5) }
    pos = pos + total
  end
  return out
end

local function header_member(shape, v)
  local t = shape.type
  if t == "timestamp" then return type(v) == "number" and v or wire.parse_time(v) end
  return v
end

--- Raise the error an `exception` or `error` message carries.
-- @param m a message of `M.messages`
-- @raise an `{code=, message=}` table when `m` is one; returns otherwise
function M.check_error(m)
  local h = m.headers
  local mtype = h[":message-type"] or "event"
  if mtype == "exception" or mtype == "error" then
    error({ code = h[":exception-type"] or h[":error-code"] or "EventStreamError",
            message = h[":error-message"] or m.payload }, 0)
  end
end

--- The events of a list of messages: a list of `{ <EventName> = {members...} }`.
-- Messages whose event type is not a member of the stream (such as a REST
-- protocol's `initial-response`) are skipped, as botocore's EventStream does.
-- @param shapes shape table
-- @param stream the `eventstream` shape
-- @param messages the messages (`M.messages`)
-- @param from index of the first message to read
-- @param read_payload function(shape, payload bytes) → value (XML or JSON reader of the protocol)
-- @raise an `{code=, message=}` table for an exception event
function M.read_events(shapes, stream, messages, from, read_payload)
  local out = {}
  for i = from, #messages do
    local m = messages[i]
    local h = m.headers
    M.check_error(m)
    local name = h[":event-type"]
    local ref = name and stream.members[name]
    if ref then
      local shape = shapes[ref.shape]
      local ev = {}
      local has_payload_member = false
      for mname, mref in pairs(shape.members or {}) do
        local ms = shapes[mref.shape]
        if mref.eventheader then
          if h[mname] ~= nil then ev[mname] = header_member(ms, h[mname]) end
        elseif mref.eventpayload then
          has_payload_member = true
          if ms.type == "blob" or ms.type == "string" then
            ev[mname] = m.payload
          elseif m.payload ~= "" then
            ev[mname] = read_payload(ms, m.payload)
          end
        end
      end
      if not has_payload_member and m.payload ~= "" then
        for k, v in pairs(read_payload(shape, m.payload) or {}) do ev[k] = v end
      end
      out[#out + 1] = { [name] = ev }
    end
  end
  return out
end

--- The events of a whole body (see `M.read_events`).
-- @param shapes shape table
-- @param stream the `eventstream` shape
-- @param body the whole body
-- @param read_payload function(shape, payload bytes) → value
function M.events(shapes, stream, body, read_payload)
  return M.read_events(shapes, stream, M.messages(body), 1, read_payload)
end

return M
