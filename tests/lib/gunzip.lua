--- Test helper: gunzip bytes with python's gzip module, so a test proves
-- kumo's gzip output is read by an implementation that is not kumo's.
-- @param data gzip bytes
-- @return the decompressed bytes ("" when python could not read them)
return function(data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  local p = assert(io.popen("python3 -c 'import gzip,sys; "
    .. "sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],\"rb\").read()))' " .. path))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end
