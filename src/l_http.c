/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.http: Lua binding of http.c. One process-wide transfer engine;
** a sentinel userdata in the registry shuts it down when the Lua state
** closes. Blocking request() runs on the same engine as start()/poll(),
** so completions of other requests met while it waits stay queued for
** the next poll().
*/
#include <ctype.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/host.h"
#include "kumo/http.h"

#define ENGINE_MT "kumo.http.Engine"
#define ENGINE_KEY "kumo.http.engine"  /* registry: the sentinel userdata */


/* Field 'k' of the request table as a string (or NULL when absent). */
static const char *optfield_string (lua_State *L, const char *k, size_t *len,
                                    int required) {
  const char *s;
  int t = lua_getfield(L, 1, k);
  if (t == LUA_TNIL && !required) {
    lua_pop(L, 1);
    return NULL;
  }
  if (t != LUA_TSTRING)
    luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a string, "
                                           "got %s", k, luaL_typename(L, -1)));
  s = lua_tolstring(L, -1, len);
  lua_pop(L, 1);  /* still referenced by the request table */
  return s;
}


static double optfield_number (lua_State *L, const char *k, double dflt) {
  double v = dflt;
  int t = lua_getfield(L, 1, k);
  if (t != LUA_TNIL) {
    int isnum;
    v = (double)lua_tonumberx(L, -1, &isnum);
    if (!isnum || !(v > 0))
      luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a positive "
                                             "number", k));
  }
  lua_pop(L, 1);
  return v;
}


/*
** A header name or value: a string only. (Converting a number in place
** would make a string that nothing keeps alive once popped, and would
** confuse lua_next when done to a key.)
*/
static const char *header_part (lua_State *L, int idx, const char *what) {
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_argerror(L, 1, lua_pushfstring(L, "header %s must be a string, "
                                           "got %s", what,
                                        luaL_typename(L, idx)));
  return lua_tostring(L, idx);
}


/*
** Headers from req.headers: a list of {name, value} or a name -> value
** map, into an array held by a userdata pushed on the stack. [-0, +1]
*/
static void read_headers (lua_State *L, struct kumo_http_request *r) {
  struct kumo_http_header *h;
  size_t n = 0, i = 0;
  int t = lua_getfield(L, 1, "headers");
  int tbl = lua_gettop(L);
  if (t == LUA_TNIL) {
    r->headers = NULL;
    r->nheaders = 0;
    lua_pushnil(L);
    lua_replace(L, tbl);
    return;
  }
  if (t != LUA_TTABLE)
    luaL_argerror(L, 1, "field 'headers' must be a table");
  lua_pushnil(L);
  while (lua_next(L, tbl) != 0) {
    n++;
    lua_pop(L, 1);
  }
  h = (struct kumo_http_header *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(*h),
                                                   0);
  lua_pushnil(L);
  while (lua_next(L, tbl) != 0) {
    if (lua_type(L, -2) == LUA_TNUMBER) {  /* list entry {name, value} */
      if (!lua_istable(L, -1))
        luaL_argerror(L, 1, "headers must be {name, value} pairs or a map");
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      h[i].name = header_part(L, -2, "name");
      h[i].value = header_part(L, -1, "value");
      lua_pop(L, 2);  /* strings stay referenced by the pair table */
    }
    else {
      h[i].name = header_part(L, -2, "name");
      h[i].value = header_part(L, -1, "value");
    }
    i++;
    lua_pop(L, 1);
  }
  lua_remove(L, tbl);  /* the array userdata keeps its place */
  r->headers = h;
  r->nheaders = n;
}


/* An integer field >= 0 of the table at 'idx', or 'dflt' when absent. */
static long long count_field (lua_State *L, int idx, const char *k,
                              long long dflt) {
  long long v = dflt;
  if (lua_getfield(L, idx, k) != LUA_TNIL) {
    int isint;
    v = (long long)lua_tointegerx(L, -1, &isint);
    if (!isint || v < 0)
      luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' of 'upload' or "
                                             "'download' must be an integer "
                                             ">= 0", k));
  }
  lua_pop(L, 1);
  return v;
}


/*
** Streaming fields: upload = { path =, offset = 0, length = }, the body
** read from a file (no 'body' then); download = path, a 2xx body written
** to that file (created or truncated), or { path =, offset = }, written
** into the existing file from offset (a part of a parallel download). The
** strings stay referenced by the request table.
*/
static void read_streaming (lua_State *L, struct kumo_http_request *r) {
  int t = lua_getfield(L, 1, "upload");
  if (t != LUA_TNIL) {
    if (t != LUA_TTABLE)
      luaL_argerror(L, 1, "field 'upload' must be a table "
                          "{ path =, offset =, length = }");
    if (r->body != NULL)
      luaL_argerror(L, 1, "give 'body' or 'upload', not both");
    if (lua_getfield(L, -1, "path") != LUA_TSTRING)
      luaL_argerror(L, 1, "field 'upload.path' must be a string");
    r->upload_path = lua_tostring(L, -1);
    lua_pop(L, 1);
    r->upload_offset = count_field(L, -1, "offset", 0);
    r->upload_length = count_field(L, -1, "length", -1);
    if (r->upload_length < 0)
      luaL_argerror(L, 1, "field 'upload.length' is required (the bytes to "
                          "send: Content-Length)");
  }
  lua_pop(L, 1);
  r->download_offset = -1;
  t = lua_getfield(L, 1, "download");
  if (t == LUA_TSTRING)
    r->download_path = lua_tostring(L, -1);
  else if (t == LUA_TTABLE) {
    if (lua_getfield(L, -1, "path") != LUA_TSTRING)
      luaL_argerror(L, 1, "field 'download.path' must be a string");
    r->download_path = lua_tostring(L, -1);
    lua_pop(L, 1);
    r->download_offset = count_field(L, -1, "offset", 0);
  }
  else if (t != LUA_TNIL)
    luaL_argerror(L, 1, "field 'download' must be a path or { path =, offset = }");
  lua_pop(L, 1);
}


/*
** Validate req (argument 1) and start it. Raises on misuse. Leaves one
** temporary value on the stack.
*/
static struct kumo_http_xfer *start_request (lua_State *L) {
  struct kumo_http_request r;
  struct kumo_http_xfer *x;
  char err[512];
  double size;
  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&r, 0, sizeof(r));
  r.url = optfield_string(L, "url", NULL, 1);
  r.method = optfield_string(L, "method", NULL, 0);
  r.body = optfield_string(L, "body", &r.bodylen, 0);
  r.timeout = optfield_number(L, "timeout", 60);
  r.connect_timeout = optfield_number(L, "connect_timeout", 10);
  size = optfield_number(L, "max_size", (double)KUMO_HTTP_MAX_SIZE);
  r.max_size = size > 1e15 ? (size_t)1e15 : (size_t)size;
  r.ca_bundle = optfield_string(L, "ca_bundle", NULL, 0);
  read_headers(L, &r);
  read_streaming(L, &r);
  x = kumo_http_start(&r, err, sizeof(err));
  if (x == NULL)
    luaL_argerror(L, 1, lua_pushstring(L, err));
  return x;
}


/* Push the response table of a successful transfer. */
static void push_response (lua_State *L, const struct kumo_http_xfer *x) {
  const char *p = x->headers;
  size_t i;
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)x->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, x->body, x->bodylen);
  lua_setfield(L, -2, "body");
  if (x->to_file) {  /* the body is in the download file */
    lua_pushinteger(L, (lua_Integer)x->downloaded);
    lua_setfield(L, -2, "downloaded");
  }
  lua_createtable(L, 0, (int)x->nheaders);    /* headers */
  lua_createtable(L, (int)x->nheaders, 0);    /* header_list */
  for (i = 0; i < x->nheaders; i++) {
    const char *name = p, *value = p + strlen(p) + 1;
    size_t k, nlen = strlen(name);
    luaL_Buffer b;
    p = value + strlen(value) + 1;
    lua_createtable(L, 2, 0);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, value);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    luaL_buffinit(L, &b);
    for (k = 0; k < nlen; k++)
      luaL_addchar(&b, (char)tolower((unsigned char)name[k]));
    luaL_pushresult(&b);                      /* lower-case name */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -4) == LUA_TSTRING)     /* repeated: join */
      lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), value);
    else
      lua_pushstring(L, value);
    lua_remove(L, -2);
    lua_rawset(L, -4);
  }
  lua_setfield(L, -3, "header_list");
  lua_setfield(L, -2, "headers");
}


/* Push res, or nil, message, code. Returns the number of values. */
static int push_outcome (lua_State *L, const struct kumo_http_xfer *x) {
  if (x->curlcode == 0) {
    push_response(L, x);
    return 1;
  }
  luaL_pushfail(L);
  lua_pushstring(L, x->error);
  lua_pushstring(L, x->codename);
  return 3;
}


/*
** request{ method=, url=, headers=, body=, timeout=, connect_timeout=,
** max_size=, ca_bundle=, upload = { path=, offset=, length= },
** download = path or { path=, offset= } }
** -> res, or nil, message, code. Blocks until done. With 'download', a 2xx
** body goes to the file (res.body is "", res.downloaded its size); any
** other status keeps its body in memory.
*/
static int http_request (lua_State *L) {
  struct kumo_http_xfer *x = start_request(L);
  int n;
  kumo_http_wait(x);
  kumo_http_take(x);
  n = push_outcome(L, x);
  kumo_http_free(x);
  return n;
}


/*** start(req) -> id: starts a request; poll() returns its completion */
static int http_start (lua_State *L) {
  struct kumo_http_xfer *x = start_request(L);
  lua_pushinteger(L, (lua_Integer)x->id);
  return 1;
}


/*
** poll(timeout) -> { {id=, res=} or {id=, err=, code=}, ... }: waits at
** most 'timeout' seconds (default 0) for at least one completion.
*/
static int http_poll (lua_State *L) {
  lua_Number timeout = luaL_optnumber(L, 1, 0);
  struct kumo_http_xfer *x;
  int i = 0;
  luaL_argcheck(L, timeout >= 0, 1, "timeout must be >= 0 seconds");
  kumo_http_run((double)timeout);
  lua_newtable(L);
  while ((x = kumo_http_next_done()) != NULL) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)x->id);
    lua_setfield(L, -2, "id");
    if (push_outcome(L, x) == 1)
      lua_setfield(L, -2, "res");
    else {
      lua_setfield(L, -4, "code");
      lua_setfield(L, -3, "err");
      lua_pop(L, 1);
    }
    lua_rawseti(L, -2, ++i);
    kumo_http_free(x);
  }
  return 1;
}


/*** pending() -> requests started and not yet returned */
static int http_pending (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)kumo_http_pending());
  return 1;
}


/*** cancel(id) -> true if it was pending (it will not be returned) */
static int http_cancel (lua_State *L) {
  struct kumo_http_xfer *x = kumo_http_find(
    (long long)luaL_checkinteger(L, 1));
  if (x != NULL)
    kumo_http_free(x);
  lua_pushboolean(L, x != NULL);
  return 1;
}


static long limit_field (lua_State *L, const char *k) {
  lua_Integer v = 0;
  if (lua_getfield(L, 1, k) != LUA_TNIL) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < 0 || v > 100000)
      luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be an integer "
                                             ">= 0 (0: no limit)", k));
  }
  lua_pop(L, 1);
  return (long)v;
}


/*** configure{ max_total=, max_host= }: connection limits (0: none) */
static int http_configure (lua_State *L) {
  long total, host;
  luaL_checktype(L, 1, LUA_TTABLE);
  total = limit_field(L, "max_total");
  host = limit_field(L, "max_host");
  if (kumo_http_configure(total, host) != 0)
    return luaL_error(L, "configure: libcurl refused the limits");
  return 0;
}


/*** stats() -> { requests = n, connections_opened = n } */
static int http_stats (lua_State *L) {
  struct kumo_http_stats st;
  kumo_http_get_stats(&st);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)st.requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, (lua_Integer)st.connections_opened);
  lua_setfield(L, -2, "connections_opened");
  return 1;
}


static int engine_gc (lua_State *L) {
  (void)L;
  kumo_http_shutdown();
  return 0;
}


static const luaL_Reg http_funcs[] = {
  {"cancel", http_cancel},
  {"configure", http_configure},
  {"pending", http_pending},
  {"poll", http_poll},
  {"request", http_request},
  {"start", http_start},
  {"stats", http_stats},
  {NULL, NULL}
};


int luaopen_kumo_http (lua_State *L) {
  /* the engine dies with the state: frees transfers, closes connections;
  ** a second require (busted's insulation) finds the sentinel in place */
  if (lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_KEY) == LUA_TNIL) {
    lua_newuserdatauv(L, 1, 0);
    luaL_newmetatable(L, ENGINE_MT);
    lua_pushcfunction(L, engine_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINE_KEY);
  }
  lua_pop(L, 1);
  luaL_newlib(L, http_funcs);
  return 1;
}
