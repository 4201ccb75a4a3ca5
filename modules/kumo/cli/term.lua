--- kumo.cli.term: text from AWS made safe for a terminal.
--
-- Error messages, resource names and bodies come from servers; a message
-- carrying `ESC ] 0 ; ... BEL` or `ESC [ 2 J` would retitle or clear the
-- user's terminal (or hide lines) when printed as it is. Every byte that a
-- terminal treats as a control (C0 but tab and newline, DEL, and the C1 set
-- U+0080..U+009F as UTF-8 encodes it) is shown as a visible `\xNN` escape
-- instead, so the text stays readable and inert.
-- @module kumo.cli.term
local term = {}

local format = string.format

local function hex(c) return format("\\x%02x", c:byte()) end

--- Escape terminal controls; keep tabs and newlines.
-- @tparam string s
-- @treturn string
function term.clean(s)
  s = tostring(s)
  s = s:gsub("[%z\1-\8\11-\31\127]", hex)
  s = s:gsub("\194([\128-\159])", function(c) return format("\\u%04x", c:byte()) end)
  return s
end

--- One line: controls escaped, and newlines, carriage returns and tabs
-- turned into spaces (a server message must not fake further lines).
-- @tparam string s
-- @treturn string
function term.line(s)
  s = tostring(s):gsub("[\r\n\t]+", " ")
  return term.clean(s)
end

return term
