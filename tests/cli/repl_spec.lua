-- kumo -i: the REPL (readline) fed through a pipe: expressions print their
-- values, an incomplete statement reads on, an error does not end the
-- loop, kumo's modules load, and every line lands in the history file.
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")
local q = sandbox.shell_quote
local KUMO = (os.getenv("KUMO_ROOT") or ".") .. "/bin/kumo"

local function repl(input, hist)
  local inp, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(inp, "w")); f:write(input); f:close()
  local _, _, code = os.execute(string.format("KUMO_HISTORY=%s %s -i <%s >%s 2>%s", q(hist), q(KUMO),
    q(inp), q(out), q(err)))
  local o, e = sandbox.read_file(out), sandbox.read_file(err)
  os.remove(inp); os.remove(out); os.remove(err)
  return code, o, e
end

describe("kumo -i", function()
  local hist = os.tmpname()
  teardown(function() os.remove(hist) end)

  it("evaluates lines, continues incomplete ones, survives errors, keeps history", function()
    os.remove(hist)
    local code, out, err = repl(table.concat({
      "function f()", "return 40 end", "f() + 2", "error('boom')", "local x = 5 return x * 2",
      "=require('kumo.crypto').sha256_hex('')" }, "\n") .. "\n", hist)
    assert.equal(0, code)
    assert.matches("\n42\n", out)
    assert.matches("\n10\n", out)
    assert.matches("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", out)
    assert.matches("boom", err)
    local h = sandbox.read_file(hist)
    assert.matches("return 40 end", h)
    assert.matches("local x = 5 return x %* 2", h)
  end)

  it("a second session appends to the history file (not replaced)", function()
    repl("1 + 1\n", hist)
    local h = sandbox.read_file(hist)
    assert.matches("function f%(%)", h)
    assert.matches("1 %+ 1", h)
  end)

  it("bare kumo without a terminal is still a usage error (exit 2)", function()
    local _, _, code = os.execute(q(KUMO) .. " </dev/null >/dev/null 2>&1")
    assert.equal(2, code)
  end)
end)
