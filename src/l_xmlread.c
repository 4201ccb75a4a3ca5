/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.xml.read: the one reader of XML responses (query, ec2 and rest-xml
** outputs, their errors and rest-xml event payloads). It builds the output
** table straight from the events of xml.c (the pure C parser), driven by a
** compiled output shape (kumo.protocol.xmlbody makes it), so no node tree
** is built. Unknown elements are skipped whole; a member read twice keeps
** the last, flattened lists append, list items are stored by position,
** maps keep the last key and value of an entry (botocore's rules).
**
** A compiled value is a Lua table { name, kind, sub, flat, attrs, check }:
**   kind 1 string, 2 structure (sub: wire name -> value), 3 list (sub: the
**   item's value), 4 map (sub: { key name, value name, value's value,
**   key's value|nil (a string when nil) }), 5 integer/long, 6 boolean,
**   7 float/double, 8 timestamp, 9 blob.
**   A structure may have 'attrs' (XML attribute name -> scalar value) and,
**   for a union, 'check': a function(n, tag, known) called when it closes
**   with the number of distinct member elements, the first one's local
**   name and whether the shape knows it; a non-nil result replaces the
**   structure's value (an unknown member), an error refuses the document.
** On first use it is translated into a C program (a kumo_xmlshape of
** src/xmlshape.c: nodes, structures with their members sorted by wire
** name, maps), kept in a weak table beside it, so that reading an element
** costs no Lua table look-up and no string interning; member names are
** pushed from an array of the program's Lua values.
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/xml.h"
#include "kumo/xmlread.h"
#include "kumo/xmlshape.h"

#define READER_MT "kumo.xml.Reader"
#define PROGRAM_MT "kumo.xml.Program"
#define CACHE_KEY "kumo.xml.programs"

enum { K_STRING = KUMO_XMLSHAPE_STRING, K_STRUCT = KUMO_XMLSHAPE_STRUCT,
       K_LIST = KUMO_XMLSHAPE_LIST, K_MAP = KUMO_XMLSHAPE_MAP,
       K_INT = KUMO_XMLSHAPE_INT, K_BOOL = KUMO_XMLSHAPE_BOOL,
       K_FLOAT = KUMO_XMLSHAPE_FLOAT, K_TIME = KUMO_XMLSHAPE_TIME,
       K_BLOB = KUMO_XMLSHAPE_BLOB };

enum { F_STRUCT, F_LIST, F_MAP, F_ENTRY, F_SCALAR, F_KEY, F_WRAP };

/* Stack indices of kumo_xml_read's arguments and fixed slots. */
enum { A_BODY = 1, A_DESC, A_WRAP, A_AUX, A_ARRAYMT, A_FLOAT, A_TIME,
       A_BLOB, A_PROGRAM, A_KEYS, A_BOX };

#define RID_SLOTS 4  /* ResponseMetadata/RequestId, RequestId, RequestID, requestId */


/* ------------------------------------------------------------------ */
/* The program: a kumo_xmlshape in a userdata whose uservalue holds    */
/* the Lua values it refers to by index (member names, union checks).  */
/* ------------------------------------------------------------------ */

struct program {
  struct kumo_xmlshape shape;
  int nkeys;       /* Lua values in the uservalue */
  int root;        /* node of the whole document */
};


static int program_gc (lua_State *L) {
  struct program *g = (struct program *)luaL_checkudata(L, 1, PROGRAM_MT);
  kumo_xmlshape_free(&g->shape);
  return 0;
}


/* An index from xmlshape.c, or the error it stands for. */
static int checked (lua_State *L, int i) {
  if (i < 0)
    luaL_error(L, "xml: out of memory");
  return i;
}


/* Compile state: stack indices of the program's Lua values and two memo
** tables (value table -> node, structure table -> struct). */
struct compile {
  struct program *g;
  int keys, names, values, structs;
};

static int compile_value (lua_State *L, struct compile *c, int desc);


/* memo[value at idx] (an index of the program), or -1. */
static int memo_get (lua_State *L, int memo, int idx) {
  int i = -1;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, memo) == LUA_TNUMBER)
    i = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return i;
}


static void memo_set (lua_State *L, int memo, int idx, int i) {
  lua_pushvalue(L, idx);
  lua_pushinteger(L, i);
  lua_rawset(L, memo);
}


/* The structure of the table at 'sub' (wire name -> value). */
static int compile_struct (lua_State *L, struct compile *c, int sub) {
  struct kumo_xmlshape *g = &c->g->shape;
  int s, n = 0;
  if ((s = memo_get(L, c->structs, sub)) >= 0)
    return s;
  lua_pushnil(L);
  while (lua_next(L, sub) != 0) {
    n++;
    lua_pop(L, 1);
  }
  s = checked(L, kumo_xmlshape_struct(g, n));
  memo_set(L, c->structs, sub, s);
  lua_pushnil(L);
  while (lua_next(L, sub) != 0) {
    size_t len;
    const char *name;
    int v, rc;
    if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
      luaL_error(L, "xml.read: compiled shape: a structure maps wire names "
                    "to values");
    name = lua_tolstring(L, -2, &len);
    v = compile_value(L, c, lua_gettop(L));
    if (g->nodes[v].key == 0)
      luaL_error(L, "xml.read: compiled shape: member %s has no name", name);
    rc = kumo_xmlshape_member(g, s, name, len, v);
    if (rc == -2)
      luaL_error(L, "xml.read: compiled shape: a structure changed while "
                    "compiled");
    checked(L, rc);
    lua_pop(L, 1);
  }
  return s;
}


/* Index of the Lua value at idx among the program's (0 for false). */
static int key_index (lua_State *L, struct compile *c, int idx) {
  int k;
  if (!lua_isstring(L, idx))
    return 0;
  if ((k = memo_get(L, c->names, idx)) >= 0)
    return k;
  k = ++c->g->nkeys;
  lua_pushvalue(L, idx);
  lua_rawseti(L, c->keys, k);
  memo_set(L, c->names, idx, k);
  return k;
}


/* A structure's attributes (desc[5]) and union check (desc[6]), for node v. */
static void compile_extras (lua_State *L, struct compile *c, int desc, int v) {
  int t;
  lua_rawgeti(L, desc, 5);
  if (lua_istable(L, -1)) {
    int s = compile_struct(L, c, lua_gettop(L));
    c->g->shape.nodes[v].attrs = s;
  }
  else if (!lua_isnil(L, -1))
    luaL_error(L, "xml.read: compiled shape: attributes are not a table");
  t = lua_rawgeti(L, desc, 6);
  if (t == LUA_TFUNCTION) {
    int k = ++c->g->nkeys;
    lua_pushvalue(L, -1);
    lua_rawseti(L, c->keys, k);
    c->g->shape.nodes[v].check = k;
  }
  else if (t != LUA_TNIL)
    luaL_error(L, "xml.read: compiled shape: a union check is not a function");
  lua_pop(L, 2);
}


/* A map's { key name, value name, value, key value|nil } at 'sub'. */
static int compile_map (lua_State *L, struct compile *c, int sub) {
  size_t klen, vlen;
  const char *k, *v;
  int node, keynode = -1;
  lua_rawgeti(L, sub, 1);
  lua_rawgeti(L, sub, 2);
  k = lua_tolstring(L, -2, &klen);
  v = lua_tolstring(L, -1, &vlen);
  if (k == NULL || v == NULL)
    luaL_error(L, "xml.read: compiled shape: a map's wire names are not "
                  "strings");
  if (lua_rawgeti(L, sub, 3) != LUA_TTABLE)
    luaL_error(L, "xml.read: compiled shape: a map without its value");
  node = compile_value(L, c, lua_gettop(L));
  if (lua_rawgeti(L, sub, 4) == LUA_TTABLE)
    keynode = compile_value(L, c, lua_gettop(L));
  return checked(L, kumo_xmlshape_map(&c->g->shape, k, klen, v, vlen, node,
                                      keynode));
}


static int compile_value (lua_State *L, struct compile *c, int desc) {
  struct kumo_xmlshape *g = &c->g->shape;
  int v, kind, sub, key, top = lua_gettop(L);
  luaL_checkstack(L, 8, "xml.read: compiled shape too deep");
  if ((v = memo_get(L, c->values, desc)) >= 0)
    return v;
  lua_rawgeti(L, desc, 2);
  kind = (int)lua_tointeger(L, -1);
  if (kind < KUMO_XMLSHAPE_STRING || kind > KUMO_XMLSHAPE_BLOB)
    luaL_error(L, "xml.read: compiled shape: unknown kind %d", kind);
  v = checked(L, kumo_xmlshape_node(g, kind));
  memo_set(L, c->values, desc, v);
  lua_rawgeti(L, desc, 1);
  key = key_index(L, c, -1);
  g->nodes[v].key = key;
  lua_rawgeti(L, desc, 4);
  g->nodes[v].flat = lua_toboolean(L, -1);
  lua_rawgeti(L, desc, 3);
  sub = lua_gettop(L);
  if (kind == K_STRUCT || kind == K_LIST || kind == K_MAP) {
    if (!lua_istable(L, sub))
      luaL_error(L, "xml.read: compiled shape: a container without its sub");
    if (kind == K_STRUCT) {
      compile_extras(L, c, desc, v);
      sub = compile_struct(L, c, sub);
    }
    else if (kind == K_LIST)
      sub = compile_value(L, c, sub);
    else
      sub = compile_map(L, c, sub);
    g->nodes[v].sub = sub;  /* g->nodes may have moved: indexed again */
  }
  lua_settop(L, top);
  return v;
}


/* Pushes the program of the compiled value at A_DESC (cached). */
static struct program *get_program (lua_State *L) {
  struct program *g;
  struct compile c;
  int top = lua_gettop(L);
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, CACHE_KEY) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, A_DESC);
  if (lua_rawget(L, -2) == LUA_TUSERDATA) {
    g = (struct program *)lua_touserdata(L, -1);
    lua_remove(L, -2);
    return g;
  }
  lua_pop(L, 1);
  g = (struct program *)lua_newuserdatauv(L, sizeof(*g), 1);
  kumo_xmlshape_init(&g->shape);
  g->nkeys = 0;
  g->root = 0;
  if (luaL_newmetatable(L, PROGRAM_MT)) {
    lua_pushcfunction(L, program_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
  c.g = g;
  c.keys = lua_gettop(L);
  lua_newtable(L);
  c.names = lua_gettop(L);
  lua_newtable(L);
  c.values = lua_gettop(L);
  lua_newtable(L);
  c.structs = lua_gettop(L);
  g->root = compile_value(L, &c, A_DESC);
  lua_settop(L, top + 2);          /* cache, program */
  lua_pushvalue(L, A_DESC);
  lua_pushvalue(L, -2);
  lua_rawset(L, top + 1);
  lua_remove(L, top + 1);
  return g;
}


/* ------------------------------------------------------------------ */
/* The reader                                                          */
/* ------------------------------------------------------------------ */

/*
** Frames own stack slots from 'base': structures, lists and maps one
** (the table being filled; a union two: also the set of its member
** element names, and [1] the first), entries three (target map, key,
** value), scalars, keys and the wrapper none.
*/
struct frame {
  int type;
  const struct kumo_xmlshape_node *node;   /* what it reads; F_ENTRY: the map's node;
                                F_KEY: the key's node or NULL */
  const struct kumo_xmlshape_node *child;  /* F_STRUCT: the open member's value */
  int base;
  int child_key;             /* F_ENTRY: the open child is the key;
                                union F_STRUCT: its first child is known */
  lua_Integer n;             /* F_LIST: items so far; union: names */
};

struct reader {
  lua_State *L;
  const struct kumo_xmlshape *g;
  struct frame frames[KUMO_XML_MAX_DEPTH + 2];
  int nframes;
  int skip;          /* depth inside an element being skipped */
  int depth;         /* open elements */
  const char *wrapper;
  int found;         /* the wrapper element was read */
  int result;        /* stack slot of the result */
  int have;          /* the result was read */
  int meta;          /* state of the first ResponseMetadata: 0 none, 1 open, 2 done */
  int capture[KUMO_XML_MAX_DEPTH + 1];  /* request id slot per depth, or -1 */
  int rid_base;      /* stack index of the RID_SLOTS request id slots */
  int rootnode;      /* the program's node of the whole document */
  int root;          /* stack slot of the root element's local name */
};

struct box {
  struct kumo_xml *x;
};


static const char *lname (const char *name) {
  const char *c = strchr(name, ':');
  return c ? c + 1 : name;
}


static struct frame *push_frame (struct reader *r, int type,
                                 const struct kumo_xmlshape_node *node) {
  struct frame *f = &r->frames[r->nframes++];
  luaL_checkstack(r->L, 8, "xml: document too deep");
  f->type = type;
  f->node = node;
  f->child = NULL;
  f->base = lua_gettop(r->L) + 1;
  f->child_key = 0;
  f->n = 0;
  return f;
}


static void push_scalar (lua_State *L, int kind, const char *s, size_t len);


/* The members of the new structure (on top) read from its element's
** XML attributes. */
static void read_attrs (struct reader *r, const struct kumo_xmlshape_node *v,
                        const char **attrs) {
  lua_State *L = r->L;
  const struct kumo_xmlshape *g = r->g;
  int i;
  for (i = 0; attrs[i] != NULL; i += 2) {
    const struct kumo_xmlshape_member *m = kumo_xmlshape_find(g, v->attrs, attrs[i],
                                         strlen(attrs[i]));
    if (m != NULL) {
      const struct kumo_xmlshape_node *a = &g->nodes[m->node];
      lua_rawgeti(L, A_KEYS, a->key);
      push_scalar(L, a->kind, attrs[i + 1], strlen(attrs[i + 1]));
      lua_rawset(L, -3);
    }
  }
}


/*
** Opens a frame reading the value of node v, from an element with XML
** attributes 'attrs'. A map read again fills the table on the top of the
** stack when 'existing' (it becomes the frame's).
*/
static void open_value (struct reader *r, const struct kumo_xmlshape_node *v,
                        int existing, const char **attrs) {
  lua_State *L = r->L;
  switch (v->kind) {
    case K_STRUCT:
      push_frame(r, F_STRUCT, v);
      lua_createtable(L, 0, 4);
      if (v->attrs >= 0)
        read_attrs(r, v, attrs);
      if (v->check)
        lua_newtable(L);  /* the union's member element names */
      break;
    case K_LIST:
      push_frame(r, F_LIST, v);
      lua_newtable(L);
      lua_pushvalue(L, A_ARRAYMT);
      lua_setmetatable(L, -2);
      break;
    case K_MAP:
      if (existing) {
        struct frame *f = push_frame(r, F_MAP, v);
        f->base--;  /* the table already on top */
      }
      else {
        push_frame(r, F_MAP, v);
        lua_newtable(L);
      }
      break;
    default:
      push_frame(r, F_SCALAR, v);
      break;
  }
}


/* Opens an entry of map node m, filling the table on top of the stack. */
static void open_entry (struct reader *r, const struct kumo_xmlshape_node *m) {
  struct frame *f = push_frame(r, F_ENTRY, m);
  f->base--;  /* the target map */
  lua_pushnil(r->L);
  lua_pushnil(r->L);
}


/* out[key of v] of the structure frame p, created if absent (a list
** with the array metatable, or a map); left on the stack. */
static void member_container (struct reader *r, struct frame *p,
                              const struct kumo_xmlshape_node *v) {
  lua_State *L = r->L;
  lua_rawgeti(L, A_KEYS, v->key);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, p->base) == LUA_TTABLE) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  lua_newtable(L);
  if (v->kind == K_LIST) {
    lua_pushvalue(L, A_ARRAYMT);
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, -1);
  lua_insert(L, -3);                 /* t key t */
  lua_rawset(L, p->base);
}


static int open_member (struct reader *r, struct frame *p, const char *name,
                        const char **attrs) {
  const struct kumo_xmlshape *g = r->g;
  const struct kumo_xmlshape_member *m;
  const struct kumo_xmlshape_node *v;
  m = kumo_xmlshape_find(g, p->node->sub, name, strlen(name));
  if (m == NULL) {
    const char *ln = lname(name);
    if (ln != name)
      m = kumo_xmlshape_find(g, p->node->sub, ln, strlen(ln));
    if (m == NULL)
      return 0;
  }
  v = &g->nodes[m->node];
  p->child = v;
  if (v->flat && v->kind == K_LIST) {
    member_container(r, p, v);
    lua_pop(r->L, 1);
    open_value(r, &g->nodes[v->sub], 0, attrs);
  }
  else if (v->kind == K_MAP) {
    member_container(r, p, v);
    if (v->flat)
      open_entry(r, v);
    else
      open_value(r, v, 1, attrs);
  }
  else
    open_value(r, v, 0, attrs);
  return 1;
}


/*
** A child element of the union frame p: counted once per local name (as
** botocore groups repeated elements of a flattened list); the first one
** is recorded with whether it is a member. The frame's table slot is
** below the open member's slots, so it is found by index.
*/
static void union_member (struct reader *r, struct frame *p, const char *name,
                          int known) {
  lua_State *L = r->L;
  int names = p->base + 1;
  lua_pushstring(L, lname(name));
  lua_pushvalue(L, -1);
  if (lua_rawget(L, names) != LUA_TNIL) {
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (p->n++ == 0) {
    p->child_key = known;
    lua_pushvalue(L, -1);
    lua_rawseti(L, names, 1);
  }
  lua_pushboolean(L, 1);
  lua_rawset(L, names);
}


/* Closes the union frame f (its two slots on the stack): its check may
** replace the structure (slot base) or raise. */
static void union_close (struct reader *r, struct frame *f) {
  lua_State *L = r->L;
  lua_rawgeti(L, A_KEYS, f->node->check);
  lua_pushinteger(L, f->n);
  lua_rawgeti(L, f->base + 1, 1);
  lua_pushboolean(L, f->child_key);
  lua_call(L, 3, 1);
  if (!lua_isnil(L, -1))
    lua_replace(L, f->base);
  else
    lua_pop(L, 1);
}


static int on_start (void *ud, const char *name, const char **attrs) {
  struct reader *r = (struct reader *)ud;
  const struct kumo_xmlshape *g = r->g;
  struct frame *p;
  int d = r->depth++;
  r->capture[d] = -1;
  if (d == 1) {  /* a child of the root: maybe the request id */
    const char *ln = lname(name);
    if (strcmp(ln, "RequestId") == 0) r->capture[d] = 1;
    else if (strcmp(ln, "RequestID") == 0) r->capture[d] = 2;
    else if (strcmp(ln, "requestId") == 0) r->capture[d] = 3;
    else if (r->meta == 0 && strcmp(ln, "ResponseMetadata") == 0) r->meta = 1;
  }
  else if (d == 2 && r->meta == 1 && strcmp(lname(name), "RequestId") == 0)
    r->capture[d] = 0;
  if (r->skip > 0) {
    r->skip++;
    return 0;
  }
  if (r->nframes == 0) {  /* the root */
    lua_pushstring(r->L, lname(name));
    lua_replace(r->L, r->root);
    if (r->wrapper != NULL)
      push_frame(r, F_WRAP, NULL);
    else
      open_value(r, &g->nodes[r->rootnode], 0, attrs);
    return 0;
  }
  p = &r->frames[r->nframes - 1];
  switch (p->type) {
    case F_STRUCT: {
      int known = open_member(r, p, name, attrs);
      if (p->node->check)
        union_member(r, p, name, known);
      if (!known)
        r->skip = 1;
      return 0;
    }
    case F_LIST:
      p->n++;
      open_value(r, &g->nodes[p->node->sub], 0, attrs);
      return 0;
    case F_MAP:
      lua_pushvalue(r->L, p->base);
      open_entry(r, p->node);
      return 0;
    case F_ENTRY: {
      const char *ln = lname(name);
      const struct kumo_xmlshape_map *m = &g->maps[p->node->sub];
      if (kumo_xmlshape_is(g, m->key, m->keylen, ln)) {
        p->child_key = 1;
        push_frame(r, F_KEY, m->keynode >= 0 ? &g->nodes[m->keynode] : NULL);
      }
      else if (kumo_xmlshape_is(g, m->value, m->valuelen, ln)) {
        p->child_key = 0;
        open_value(r, &g->nodes[m->node], 0, attrs);
      }
      else
        r->skip = 1;
      return 0;
    }
    case F_WRAP:
      if (!r->found && strcmp(lname(name), r->wrapper) == 0) {
        r->found = 1;
        open_value(r, &g->nodes[r->rootnode], 0, attrs);
      }
      else
        r->skip = 1;
      return 0;
    default:  /* scalars and keys: child elements carry no value */
      r->skip = 1;
      return 0;
  }
}


/* Pushes the number in s[0..len) as lua_stringtonumber reads it, or
** nothing (returns 0). */
static int push_number (lua_State *L, const char *s, size_t len) {
  char buf[64];
  if (len < sizeof(buf)) {
    memcpy(buf, s, len);
    buf[len] = '\0';
    return lua_stringtonumber(L, buf) == len + 1;
  }
  lua_pushlstring(L, s, len);
  if (lua_stringtonumber(L, lua_tostring(L, -1)) == len + 1) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}


/* Pushes the value of a scalar of 'kind' from its text. */
static void push_scalar (lua_State *L, int kind, const char *s, size_t len) {
  switch (kind) {
    case K_INT:
      if (!push_number(L, s, len))
        lua_pushnil(L);
      else if (!lua_isinteger(L, -1)) {
        int isint;
        lua_Integer i = lua_tointegerx(L, -1, &isint);
        if (isint) {
          lua_pop(L, 1);
          lua_pushinteger(L, i);
        }
      }
      return;
    case K_BOOL:
      lua_pushboolean(L, len == 4 && memcmp(s, "true", 4) == 0);
      return;
    case K_FLOAT:
    case K_TIME:
    case K_BLOB:
      if (kind == K_TIME && len == 0) {
        lua_pushnil(L);
        return;
      }
      lua_pushvalue(L, kind == K_FLOAT ? A_FLOAT : kind == K_TIME ? A_TIME
                                                                 : A_BLOB);
      lua_pushlstring(L, s, len);
      lua_call(L, 1, 1);
      return;
    default:
      lua_pushlstring(L, s, len);
      return;
  }
}


/* The closed child's value (on top) stored in its parent frame p. */
static void store (struct reader *r, struct frame *p) {
  lua_State *L = r->L;
  switch (p->type) {
    case F_STRUCT: {
      const struct kumo_xmlshape_node *c = p->child;
      if (c->flat && c->kind == K_LIST) {
        if (!lua_isnil(L, -1)) {
          lua_rawgeti(L, A_KEYS, c->key);
          lua_rawget(L, p->base);
          lua_insert(L, -2);
          lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        }
        lua_pop(L, 1);
      }
      else if (c->kind == K_MAP)
        lua_pop(L, 1);  /* the map is out[name] already */
      else {
        lua_rawgeti(L, A_KEYS, c->key);
        lua_insert(L, -2);
        lua_rawset(L, p->base);
      }
      break;
    }
    case F_LIST:
      lua_rawseti(L, p->base, p->n);
      break;
    case F_ENTRY:
      lua_replace(L, p->base + (p->child_key ? 1 : 2));
      break;
    case F_WRAP:
      lua_replace(L, r->result);
      r->have = 1;
      break;
    default:  /* F_MAP: the entry wrote itself */
      lua_pop(L, 1);
      break;
  }
}


static int on_end (void *ud, const char *name, const char *text,
                   size_t len) {
  struct reader *r = (struct reader *)ud;
  lua_State *L = r->L;
  struct frame *f;
  int d = --r->depth;
  (void)name;
  if (r->capture[d] >= 0) {
    int slot = r->rid_base + r->capture[d];
    if (lua_isnil(L, slot)) {
      lua_pushlstring(L, text, len);
      lua_replace(L, slot);
    }
  }
  if (d == 1 && r->meta == 1)
    r->meta = 2;
  if (r->skip > 0) {
    r->skip--;
    return 0;
  }
  f = &r->frames[--r->nframes];
  /* the frame's value on top, its slots dropped */
  switch (f->type) {
    case F_SCALAR:
      push_scalar(L, f->node->kind, text, len);
      break;
    case F_KEY:
      if (f->node != NULL)
        push_scalar(L, f->node->kind, text, len);
      else
        lua_pushlstring(L, text, len);
      break;
    case F_ENTRY:
      /* a key that does not read as its kind (nil, NaN) makes no entry */
      if (!lua_isnil(L, f->base + 1)
          && lua_rawequal(L, f->base + 1, f->base + 1)) {
        lua_pushvalue(L, f->base + 1);
        lua_pushvalue(L, f->base + 2);
        lua_rawset(L, f->base);
      }
      lua_settop(L, f->base - 1);
      lua_pushnil(L);
      break;
    case F_WRAP:
      return 0;
    case F_STRUCT:
      if (f->node->check)
        union_close(r, f);
      lua_settop(L, f->base);
      break;
    default:
      lua_settop(L, f->base);
      break;
  }
  if (r->nframes == 0) {
    lua_replace(L, r->result);
    r->have = 1;
    return 0;
  }
  store(r, &r->frames[r->nframes - 1]);
  return 0;
}


static int reader_gc (lua_State *L) {
  struct box *bx = (struct box *)luaL_checkudata(L, 1, READER_MT);
  kumo_xml_free(bx->x);
  bx->x = NULL;
  return 0;
}


int kumo_xml_read (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, A_BODY, &len);
  struct kumo_xml_handler h;
  struct reader rd, *r = &rd;  /* holds no resource: a Lua error may skip it */
  struct box *bx;
  struct program *prog;
  char err[256];
  int i, rc;
  luaL_checktype(L, A_DESC, LUA_TTABLE);
  if (!lua_isnoneornil(L, A_WRAP))
    luaL_checkstring(L, A_WRAP);
  luaL_checktype(L, A_AUX, LUA_TTABLE);
  lua_settop(L, A_AUX);
  for (i = 1; i <= 4; i++)
    lua_rawgeti(L, A_AUX, i);  /* array mt, float, time, blob */
  prog = get_program(L);       /* A_PROGRAM */
  r->g = &prog->shape;
  r->rootnode = prog->root;
  lua_getiuservalue(L, A_PROGRAM, 1);  /* A_KEYS */
  bx = (struct box *)lua_newuserdatauv(L, sizeof(*bx), 0);  /* A_BOX */
  bx->x = NULL;
  if (luaL_newmetatable(L, READER_MT)) {
    lua_pushcfunction(L, reader_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  r->L = L;
  r->nframes = 0;
  r->skip = 0;
  r->depth = 0;
  r->wrapper = lua_tostring(L, A_WRAP);
  r->found = 0;
  r->have = 0;
  r->meta = 0;
  for (i = 0; i <= RID_SLOTS + 1; i++)
    lua_pushnil(L);
  r->rid_base = lua_gettop(L) - RID_SLOTS - 1;
  r->result = r->rid_base + RID_SLOTS;
  r->root = r->result + 1;
  h.start = on_start;
  h.end = on_end;
  h.ud = r;
  bx->x = kumo_xml_new(NULL, &h);
  if (bx->x == NULL)
    return luaL_error(L, "xml: out of memory");
  rc = kumo_xml_parse(bx->x, s, len, err, sizeof(err));
  kumo_xml_free(bx->x);
  bx->x = NULL;
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (r->have)
    lua_pushvalue(L, r->result);
  else
    lua_newtable(L);
  lua_pushnil(L);
  for (i = 0; i < RID_SLOTS; i++) {
    if (!lua_isnil(L, r->rid_base + i)) {
      lua_pushvalue(L, r->rid_base + i);
      lua_replace(L, -2);
      break;
    }
  }
  lua_pushvalue(L, r->root);
  return 3;
}
