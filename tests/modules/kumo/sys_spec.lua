-- kumo.sys.read_file: the one whole-file reader (models, config and
-- credential files, caches, token files, the sandbox's files).
local sys = require "kumo.sys"

local function tmpfile(data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

describe("kumo.sys.read_file", function()
  it("returns the whole file, bytes as they are, across many buffer fills", function()
    local parts = {}
    for i = 0, 70000 do parts[#parts + 1] = string.char(i % 256) end
    local data = table.concat(parts)
    local path = tmpfile(data)
    local got = sys.read_file(path)
    os.remove(path)
    assert.are.equal(#data, #got)
    assert.is_true(data == got)
    local empty = tmpfile("")
    assert.are.equal("", sys.read_file(empty))
    os.remove(empty)
  end)

  it("answers nil, a message naming the path, and errno, as io.open", function()
    local v, msg, code = sys.read_file("/nonexistent/kumo-file")
    assert.is_nil(v)
    assert.are.equal("/nonexistent/kumo-file: No such file or directory", msg)
    assert.are.equal(2, code)
    local d = os.tmpname()
    os.remove(d)
    assert(sys.mkdir(d))
    v, msg, code = sys.read_file(d)
    os.remove(d)
    assert.is_nil(v)
    assert.are.equal(d .. ": Is a directory", msg)
    assert.are.equal(21, code)
  end)

  it("refuses a path that is not a string", function()
    assert.has_error(function() sys.read_file({}) end)
    assert.has_error(function() sys.read_file() end)
  end)
end)
