/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-sources: src/xml.c src/xmlscan.c src/xmlshape.c src/l_xml.c src/l_xmlread.c */
/*
** libFuzzer target for kumo.xml.read (src/l_xmlread.c): any bytes read by
** a fixed compiled shape (every value kind, flattened and wrapped lists,
** maps with string and integer keys, XML attributes, a union, nesting),
** with and without a query wrapper, in one long-lived Lua state; the call
** must not raise (but for the union's own refusal), the stack must stay
** balanced, and lists must carry the array metatable.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "kumo/host.h"

static lua_State *L;

static const char check[] =
  "local xml, s, wrapper = ...\n"
  "local AMT = {}\n"
  "local S = {}\n"
  "local V = function(k, sub) return { false, k, sub or true, false } end\n"
  "S.S = { 'S', 1, true, false }\n"
  "S.I = { 'I', 5, true, false }\n"
  "S.B = { 'B', 6, true, false }\n"
  "S.D = { 'D', 7, true, false }\n"
  "S.T = { 'T', 8, true, false }\n"
  "S.Bl = { 'Bl', 9, true, false }\n"
  "S.L = { 'L', 3, V(1), false }\n"
  "S.F = { 'F', 3, V(2, S), true }\n"
  "S.M = { 'M', 4, { 'key', 'value', V(5) }, false }\n"
  "S.Fm = { 'Fm', 4, { 'k', 'v', V(2, S) }, true }\n"
  "S.N = { 'N', 2, S, false }\n"
  "S.LL = { 'LL', 3, V(3, V(1)), false }\n"
  "S.KM = { 'KM', 4, { 'key', 'value', V(2, S), V(5) }, false }\n"
  "S.At = { 'At', 2, S, false, { a = { 'A', 5, true, false }, ['x:b'] = { 'B', 7, true, false } } }\n"
  "S.U = { 'U', 2, S, false, nil, function(n, tag, known)\n"
  "  assert(math.type(n) == 'integer' and type(known) == 'boolean')\n"
  "  if n ~= 1 then error('union refused', 0) end\n"
  "  assert(type(tag) == 'string')\n"
  "  if not known then return { unknown = tag } end end }\n"
  "local desc = { false, 2, S, false }\n"
  "local aux = { AMT, function(t) return tonumber(t) end,\n"
  "  function(t) return #t end, function(t) return t end }\n"
  "local ok, out, rid = pcall(xml.read, s, desc, wrapper, aux)\n"
  "if not ok and out == 'union refused' then return end\n"
  "assert(ok, out)\n"
  "if not out then assert(rid:match('^xml: line %d+, column %d+: ')) return end\n"
  "assert(rid == nil or type(rid) == 'string')\n"
  "local function walk(t, d)\n"
  "  assert(d < 200)\n"
  "  for k, v in pairs(t) do\n"
  "    if (k == 'L' or k == 'F' or k == 'LL') then assert(getmetatable(v) == AMT) end\n"
  "    if type(v) == 'table' then walk(v, d + 1) end\n"
  "  end\n"
  "end\n"
  "walk(out, 1)\n";


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  int top;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "kumo.xml", luaopen_kumo_xml, 0);
    lua_setglobal(L, "XML");
    if (luaL_loadstring(L, check) != LUA_OK)
      abort();
    lua_setglobal(L, "CHECK");
  }
  top = lua_gettop(L);
  lua_getglobal(L, "CHECK");
  lua_getglobal(L, "XML");
  lua_pushlstring(L, (const char *)data, size);
  if (size > 0 && (data[0] & 1))
    lua_pushliteral(L, "R");
  else
    lua_pushnil(L);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  if (lua_gettop(L) != top)
    abort();
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
