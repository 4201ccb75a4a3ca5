/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.xml: Lua binding of xml.c. decode() builds the tree on the Lua
** stack (one node per open element); the parser lives in a userdata
** whose __gc frees it, so a Lua error raised inside a callback (memory)
** cannot leak it.
*/
#include <lua.h>
#include <lauxlib.h>

#include "kumo/host.h"
#include "kumo/xml.h"
#include "kumo/xmlread.h"

#define PARSER_MT "kumo.xml.Parser"

struct box {
  struct kumo_xml *x;
};

struct builder {
  lua_State *L;
  int base;  /* stack top before the first node */
};


/* Node for an opening element: { name=, attrs={}, children={} }. [-0,+1] */
static int build_start (void *ud, const char *name, const char **attrs) {
  struct builder *b = (struct builder *)ud;
  lua_State *L = b->L;
  int i;
  luaL_checkstack(L, 4, "xml: document too deep");
  lua_createtable(L, 0, 4);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  lua_newtable(L);
  for (i = 0; attrs[i] != NULL; i += 2) {
    lua_pushstring(L, attrs[i + 1]);
    lua_setfield(L, -2, attrs[i]);
  }
  lua_setfield(L, -2, "attrs");
  lua_newtable(L);
  lua_setfield(L, -2, "children");
  return 0;
}


/* Set the node's text and append it to its parent's children. [-1,+0] */
static int build_end (void *ud, const char *name, const char *text,
                      size_t len) {
  struct builder *b = (struct builder *)ud;
  lua_State *L = b->L;
  (void)name;
  lua_pushlstring(L, text, len);
  lua_setfield(L, -2, "text");
  if (lua_gettop(L) > b->base + 1) {  /* has a parent: append */
    lua_getfield(L, -2, "children");
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
  }
  return 0;
}


static int parser_gc (lua_State *L) {
  struct box *bx = (struct box *)luaL_checkudata(L, 1, PARSER_MT);
  kumo_xml_free(bx->x);
  bx->x = NULL;
  return 0;
}


/* opts.<field> as a positive integer, or 0 when absent. */
static lua_Integer optlimit (lua_State *L, int idx, const char *field) {
  lua_Integer v = 0;
  if (lua_isnoneornil(L, idx))
    return 0;
  lua_getfield(L, idx, field);
  if (!lua_isnil(L, -1)) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v <= 0)
      luaL_argerror(L, idx, lua_pushfstring(L, "%s must be a positive "
                                               "integer", field));
  }
  lua_pop(L, 1);
  return v;
}


/*
** decode(s [, {max_depth=, max_size=}]) -> root node, or nil, message.
** A node is { name=, attrs={name=value}, children={node...}, text= }.
*/
static int xml_decode (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  struct kumo_xml_limits lim;
  struct kumo_xml_handler h;
  struct builder b;
  struct box *bx;
  char err[256];
  lua_Integer depth, size;
  if (!lua_isnoneornil(L, 2))
    luaL_checktype(L, 2, LUA_TTABLE);
  depth = optlimit(L, 2, "max_depth");
  size = optlimit(L, 2, "max_size");
  lim.max_depth = depth > 100000 ? 100000 : (int)depth;
  lim.max_size = (size_t)size;
  lua_settop(L, 2);
  bx = (struct box *)lua_newuserdatauv(L, sizeof(*bx), 0);
  bx->x = NULL;
  luaL_setmetatable(L, PARSER_MT);
  b.L = L;
  b.base = lua_gettop(L);
  h.start = build_start;
  h.end = build_end;
  h.ud = &b;
  bx->x = kumo_xml_new(&lim, &h);
  if (bx->x == NULL)
    return luaL_error(L, "xml: out of memory");
  if (kumo_xml_parse(bx->x, s, len, err, sizeof(err)) != 0) {
    kumo_xml_free(bx->x);
    bx->x = NULL;
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  kumo_xml_free(bx->x);
  bx->x = NULL;
  return 1;  /* the root node, left on top */
}


/*** escape(s) -> s with & < > " ' and CR as XML entities */
static int xml_escape (lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  n = kumo_xml_escaped_len(s, len);
  if (n == len) {
    lua_settop(L, 1);
    return 1;
  }
  kumo_xml_escape(s, len, luaL_buffinitsize(L, &b, n));
  luaL_pushresultsize(&b, n);
  return 1;
}


static const luaL_Reg xml_funcs[] = {
  {"decode", xml_decode},
  {"escape", xml_escape},
  {"read", kumo_xml_read},
  {NULL, NULL}
};


static const luaL_Reg parser_meta[] = {
  {"__close", parser_gc},
  {"__gc", parser_gc},
  {NULL, NULL}
};


int luaopen_kumo_xml (lua_State *L) {
  luaL_newmetatable(L, PARSER_MT);
  luaL_setfuncs(L, parser_meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, xml_funcs);
  return 1;
}
