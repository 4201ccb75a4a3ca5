/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-sources: src/xml.c src/xmlscan.c src/xmlshape.c src/l_xml.c src/l_xmlread.c */
/*
** libFuzzer target for the kumo.xml Lua binding (src/l_xml.c): any bytes
** through xml.decode in one long-lived Lua state, with limits from the
** first byte; the stack must be balanced after each call and the tree's
** nodes well-formed.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "kumo/host.h"

static lua_State *L;

static const char check_tree[] =
  "local function walk(n, depth)\n"
  "  assert(type(n.name) == 'string' and #n.name > 0)\n"
  "  assert(type(n.text) == 'string' and type(n.attrs) == 'table')\n"
  "  for k, v in pairs(n.attrs) do assert(type(k) == 'string' and type(v) == 'string') end\n"
  "  for i, c in ipairs(n.children) do walk(c, depth + 1) end\n"
  "  local count = 0\n"
  "  for _ in pairs(n.children) do count = count + 1 end\n"
  "  assert(count == #n.children and depth <= 130)\n"
  "end\n"
  "local xml, s, depth = ...\n"
  "local ok, root, msg = pcall(xml.decode, s, depth and { max_depth = depth })\n"
  "assert(ok, root)\n"
  "if root then walk(root, 1) else assert(msg:match('^xml: line %d+, column %d+: ')) end\n";


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  int top;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "kumo.xml", luaopen_kumo_xml, 0);
    lua_setglobal(L, "XML");
    if (luaL_loadstring(L, check_tree) != LUA_OK)
      abort();
    lua_setglobal(L, "CHECK");
  }
  top = lua_gettop(L);
  lua_getglobal(L, "CHECK");
  lua_getglobal(L, "XML");
  lua_pushlstring(L, (const char *)data, size);
  if (size > 0 && data[0] < 8)
    lua_pushinteger(L, data[0] + 1);
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
