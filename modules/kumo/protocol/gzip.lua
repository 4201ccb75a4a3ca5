--- gzip (RFC 1952) of request bodies, in Lua: DEFLATE with fixed Huffman
-- codes and greedy LZ77 matching over a 32 KiB window. For the
-- `requestcompression` trait (CloudWatch PutMetricData): bodies of 10 KiB
-- and more. Not the tightest compressor, but a real one: repetitive JSON
-- and form bodies shrink several times.
-- @module kumo.protocol.gzip
local M = {}

local byte, char, concat = string.byte, string.char, table.concat

-- CRC-32 (IEEE) table.
local CRC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  CRC[i] = c
end

--- CRC-32 of a string.
function M.crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = CRC[(c ~ byte(s, i)) & 0xFF] ~ (c >> 8)
  end
  return c ~ 0xFFFFFFFF
end

-- Length codes 257..285: base lengths and extra bits.
local LBASE = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                67, 83, 99, 115, 131, 163, 195, 227, 258 }
local LEXTRA = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
                 5, 5, 5, 5, 0 }
local DBASE = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
                769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 }
local DEXTRA = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                 11, 11, 12, 12, 13, 13 }

-- length (3..258) → index into LBASE; distance → index into DBASE.
local LEN_IDX, DIST_IDX = {}, {}
for l = 3, 257 do
  local i = 1
  while i < #LBASE - 1 and LBASE[i + 1] <= l do i = i + 1 end
  LEN_IDX[l] = i
end
LEN_IDX[258] = #LBASE -- code 285 (227 + 31 with code 284's extra bits is not used)

local function dist_idx(d)
  local i = DIST_IDX[d]
  if i then return i end
  for k = #DBASE, 1, -1 do
    if d >= DBASE[k] then DIST_IDX[d] = k return k end
  end
end

-- Fixed Huffman code of a literal/length symbol → (code reversed for LSB-first output, bits).
local function rev(code, n)
  local r = 0
  for _ = 1, n do r = (r << 1) | (code & 1) code = code >> 1 end
  return r
end
local FIXED_CODE, FIXED_LEN = {}, {}
for sym = 0, 287 do
  local code, n
  if sym <= 143 then code, n = 0x30 + sym, 8
  elseif sym <= 255 then code, n = 0x190 + sym - 144, 9
  elseif sym <= 279 then code, n = sym - 256, 7
  else code, n = 0xC0 + sym - 280, 8 end
  FIXED_CODE[sym], FIXED_LEN[sym] = rev(code, n), n
end
local DIST_CODE = {}
for i = 0, 29 do DIST_CODE[i] = rev(i, 5) end

--- DEFLATE (raw, RFC 1951) of a string, one fixed-Huffman block.
function M.deflate(s)
  local out, nout = {}, 0
  local bitbuf, bitcnt = 0, 0
  local function put(v, n)
    bitbuf = bitbuf | (v << bitcnt)
    bitcnt = bitcnt + n
    while bitcnt >= 8 do
      nout = nout + 1
      out[nout] = char(bitbuf & 0xFF)
      bitbuf = bitbuf >> 8
      bitcnt = bitcnt - 8
    end
  end
  put(1, 1) -- BFINAL
  put(1, 2) -- BTYPE = 01 (fixed Huffman)
  local n = #s
  local head = {} -- 3-byte hash → last position
  local i = 1
  while i <= n do
    local best_len, best_dist = 0, 0
    if i + 2 <= n then
      local a, b, c = byte(s, i, i + 2)
      local h = (a << 16) | (b << 8) | c
      local j = head[h]
      head[h] = i
      if j and i - j <= 32768 then
        local len = 3
        local max = n - i + 1
        if max > 258 then max = 258 end
        while len < max and byte(s, j + len) == byte(s, i + len) do len = len + 1 end
        best_len, best_dist = len, i - j
      end
    end
    if best_len >= 3 then
      local li = LEN_IDX[best_len]
      local sym = 256 + li
      put(FIXED_CODE[sym], FIXED_LEN[sym])
      if LEXTRA[li] > 0 then put(best_len - LBASE[li], LEXTRA[li]) end
      local di = dist_idx(best_dist)
      put(DIST_CODE[di - 1], 5)
      if DEXTRA[di] > 0 then put(best_dist - DBASE[di], DEXTRA[di]) end
      -- index the skipped positions so later matches can find them
      for k = i + 1, i + best_len - 1 do
        if k + 2 <= n then
          local a, b, c = byte(s, k, k + 2)
          head[(a << 16) | (b << 8) | c] = k
        end
      end
      i = i + best_len
    else
      local sym = byte(s, i)
      put(FIXED_CODE[sym], FIXED_LEN[sym])
      i = i + 1
    end
  end
  put(FIXED_CODE[256], FIXED_LEN[256]) -- end of block
  if bitcnt > 0 then put(0, 8 - bitcnt) end
  return concat(out, "", 1, nout)
end

local function le32(v)
  return char(v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF)
end

--- gzip of a string (no file name, mtime 0, OS "unknown").
function M.gzip(s)
  return "\31\139\8\0\0\0\0\0\0\255" .. M.deflate(s) .. le32(M.crc32(s)) .. le32(#s & 0xFFFFFFFF)
end

return M
