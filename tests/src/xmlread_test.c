/* SPDX-License-Identifier: Apache-2.0 */
/*
** Unit tests of src/l_xmlread.c: kumo_xml_read in a bare Lua state, each
** case a document, a compiled shape and a Lua check of the result.
** Prints "N passed, N failed".
*/
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "kumo/xmlread.h"

static int passed, failed;

/* Shared Lua: the compiled shape S and helpers. */
static const char prelude[] =
  "AMT = {}\n"
  "AUX = { AMT, function(t) if t == 'NaN' then return 0/0 end return tonumber(t) end,\n"
  "        function(t) return 'T' .. t end, function(t) return 'B' .. t end }\n"
  "local function V(k, sub) return { false, k, sub or true, false } end\n"
  "S = {}\n"
  "S.S = { 'S', 1, true, false }\n"
  "S.I = { 'I', 5, true, false }\n"
  "S.B = { 'B', 6, true, false }\n"
  "S.D = { 'D', 7, true, false }\n"
  "S.T = { 'T', 8, true, false }\n"
  "S.Bl = { 'Bl', 9, true, false }\n"
  "S.L = { 'L', 3, V(1), false }\n"
  "S.Item = { 'F', 3, V(1), true }\n"
  "S.M = { 'M', 4, { 'key', 'value', V(5) }, false }\n"
  "S.Fm = { 'Fm', 4, { 'k', 'v', V(1) }, true }\n"
  "S.N = { 'N', 2, S, false }\n"
  "S.KM = { 'KM', 4, { 'key', 'value', V(1), V(5) }, false }\n"
  "S.At = { 'At', 2, { S = S.S }, false, { ['x:a'] = { 'A', 5, true, false } } }\n"
  "CHECKS = {}\n"
  "S.Un = { 'Un', 2, { S = S.S, I = S.I }, false, nil, function(n, tag, known)\n"
  "  CHECKS[#CHECKS + 1] = { n, tag, known }\n"
  "  if n ~= 1 then error('union: ' .. n, 0) end\n"
  "  if not known then return { unknown = tag } end end }\n"
  "DESC = { false, 2, S, false }\n";

static void check (lua_State *L, const char *name, const char *doc,
                   const char *wrapper, const char *test) {
  int top = lua_gettop(L);
  int ok;
  lua_pushcfunction(L, kumo_xml_read);
  lua_pushstring(L, doc);
  lua_getglobal(L, "DESC");
  if (wrapper) lua_pushstring(L, wrapper); else lua_pushnil(L);
  lua_getglobal(L, "AUX");
  ok = lua_pcall(L, 4, 3, 0) == LUA_OK;
  if (ok) {
    if (luaL_loadstring(L, test) != LUA_OK) {
      ok = 0;
    }
    else {
      lua_insert(L, -4);
      ok = lua_pcall(L, 3, 1, 0) == LUA_OK && lua_toboolean(L, -1);
    }
  }
  if (ok)
    passed++;
  else {
    failed++;
    printf("FAIL %s: %s\n", name, lua_isstring(L, -1) ? lua_tostring(L, -1) : "false");
  }
  lua_settop(L, top);
}

int main (void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (luaL_dostring(L, prelude) != LUA_OK) {
    printf("prelude: %s\n0 passed, 1 failed\n", lua_tostring(L, -1));
    return 1;
  }
  check(L, "scalars", "<R><S>a&amp;b</S><I>42</I><B>true</B><D>NaN</D><T>t</T><Bl>x</Bl></R>",
        NULL, "local o = ... return o.S == 'a&b' and math.type(o.I) == 'integer' and o.I == 42"
        " and o.B == true and o.D ~= o.D and o.T == 'Tt' and o.Bl == 'Bx'");
  check(L, "integers", "<R><I>1e3</I></R>", NULL,
        "local o = ... return math.type(o.I) == 'integer' and o.I == 1000");
  check(L, "bad integer is absent", "<R><I>7</I><I>x</I></R>", NULL,
        "local o = ... return o.I == nil");
  check(L, "empty timestamp is absent", "<R><T></T></R>", NULL,
        "local o = ... return o.T == nil");
  check(L, "boolean only for true", "<R><B>TRUE</B></R>", NULL,
        "local o = ... return o.B == false");
  check(L, "last of a repeated member", "<R><S>a</S><S>b</S></R>", NULL,
        "local o = ... return o.S == 'b'");
  check(L, "list by position, any item name", "<R><L><member>a</member><x>b</x></L></R>", NULL,
        "local o = ... return getmetatable(o.L) == AMT and #o.L == 2 and o.L[2] == 'b'");
  check(L, "empty list", "<R><L/></R>", NULL,
        "local o = ... return getmetatable(o.L) == AMT and next(o.L) == nil");
  check(L, "flattened list appends", "<R><Item>1</Item><S>s</S><Item>2</Item></R>", NULL,
        "local o = ... return getmetatable(o.F) == AMT and o.F[1] == '1' and o.F[2] == '2'");
  check(L, "map entries, key and value in any order",
        "<R><M><entry><value>1</value><key>a</key></entry><entry><key>b</key>"
        "<value>2</value></entry><entry><value>3</value></entry></M></R>", NULL,
        "local o = ... return o.M.a == 1 and o.M.b == 2 and getmetatable(o.M) == nil");
  check(L, "flattened map", "<R><Fm><k>a</k><v>x</v></Fm><Fm><k>b</k><v>y</v></Fm></R>", NULL,
        "local o = ... return o.Fm.a == 'x' and o.Fm.b == 'y'");
  check(L, "nested structure", "<R><N><S>in</S><N><I>3</I></N></N></R>", NULL,
        "local o = ... return o.N.S == 'in' and o.N.N.I == 3");
  check(L, "unknown elements skipped whole", "<R><U><S>no</S><U><S>no</S></U></U><S>yes</S></R>", NULL,
        "local o = ... return o.S == 'yes'");
  check(L, "namespace prefix", "<p:R xmlns:p='u'><p:S>x</p:S></p:R>", NULL,
        "local o = ... return o.S == 'x'");
  check(L, "mixed text", "<R><S>a<i>b</i>c</S></R>", NULL,
        "local o = ... return o.S == 'ac'");
  check(L, "wrapper", "<X><R><S>no</S></R><W><S>yes</S></W><W><S>2</S></W>"
        "<ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></X>", "W",
        "local o, rid = ... return o.S == 'yes' and rid == 'id'");
  check(L, "missing wrapper gives {}", "<X><R/></X>", "W",
        "local o = ... return next(o) == nil");
  check(L, "ec2 request id", "<X><requestId>r</requestId></X>", NULL,
        "local o, rid = ... return rid == 'r'");
  check(L, "metadata id first", "<X><RequestId>b</RequestId><ResponseMetadata>"
        "<RequestId>a</RequestId></ResponseMetadata></X>", NULL,
        "local o, rid = ... return rid == 'a'");
  check(L, "attributes of a structure", "<R><At x:a='12' b='no'><S>s</S></At></R>", NULL,
        "local o = ... return o.At.A == 12 and o.At.S == 's' and o.At.b == nil");
  check(L, "map with integer keys, bad keys skipped",
        "<R><KM><entry><key>1</key><value>a</value></entry><entry><key>x</key><value>b</value>"
        "</entry><entry><key>2</key><value>c</value></entry></KM></R>", NULL,
        "local o = ... local n = 0 for _ in pairs(o.KM) do n = n + 1 end"
        " return n == 2 and o.KM[1] == 'a' and o.KM[2] == 'c'");
  check(L, "union: one known member", "<R><Un><S>x</S><S>y</S></Un></R>", NULL,
        "local o = ... local c = CHECKS[#CHECKS] return o.Un.S == 'y' and c[1] == 1"
        " and c[2] == 'S' and c[3] == true");
  check(L, "union: an unknown member replaces the value", "<R><Un><p:New>x</p:New></Un></R>", NULL,
        "local o = ... local c = CHECKS[#CHECKS] return o.Un.unknown == 'New' and c[3] == false");
  check(L, "root's local name", "<p:Root xmlns:p='u'/>", NULL,
        "local o, rid, root = ... return root == 'Root' and rid == nil");
  {
    /* a union's check that raises: the error goes through, nothing leaks */
    int top = lua_gettop(L);
    lua_pushcfunction(L, kumo_xml_read);
    lua_pushliteral(L, "<R><Un><S>x</S><I>1</I></Un></R>");
    lua_getglobal(L, "DESC");
    lua_pushnil(L);
    lua_getglobal(L, "AUX");
    if (lua_pcall(L, 4, 2, 0) != LUA_OK
        && strcmp(lua_tostring(L, -1), "union: 2") == 0)
      passed++;
    else {
      failed++;
      printf("FAIL union: several members raise\n");
    }
    lua_settop(L, top);
  }
  check(L, "malformed", "<R><S></R>", NULL,
        "local o, e = ... return o == nil and e:match('^xml: line 1') ~= nil");
  check(L, "doctype refused", "<!DOCTYPE R><R/>", NULL,
        "local o, e = ... return o == nil and e:match('DOCTYPE') ~= nil");
  check(L, "too deep", "<R><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N>"
        "<N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N>"
        "<N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N>"
        "<N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N>"
        "<N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N><N>"
        "</N></N></R>", NULL,
        "local o, e = ... return o == nil and e:match('deeper') ~= nil");
  lua_close(L);
  printf("xmlread_test: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
