/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml reader: builds a response's output table straight from the XML
** events, driven by a compiled output shape (kumo.protocol.xmlbody makes
** it), so no node tree is built. Unknown elements are skipped whole. The
** values are the ones the shape walk over kumo.xml.decode's tree gives:
** a member read twice keeps the last, flattened lists append, list items
** are stored by position, maps keep the last key and value of an entry.
**
** A compiled value is a table { name, kind, sub, flat }:
**   kind 1 string, 2 structure (sub: wire name -> value), 3 list (sub: the
**   item's value), 4 map (sub: { key name, value name, value's value }),
**   5 integer/long, 6 boolean, 7 float/double, 8 timestamp, 9 blob.
** Frames keep 4 Lua stack slots each: container (or entry key), sub,
** the open child's value (or entry value), entry target map.
*/
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/xml.h"
#include "kumo/xmlread.h"

#define READER_MT "kumo.xml.Reader"

enum { K_STRING = 1, K_STRUCT, K_LIST, K_MAP, K_INT, K_BOOL, K_FLOAT,
       K_TIME, K_BLOB };

enum { F_STRUCT, F_LIST, F_MAP, F_ENTRY, F_SCALAR, F_KEY, F_WRAP };

/* Stack indices of kumo_xml_read's fixed arguments. */
enum { A_BODY = 1, A_DESC, A_WRAP, A_AUX, A_ARRAYMT, A_FLOAT, A_TIME,
       A_BLOB, A_BOX, A_NFIXED = A_BOX };

#define NSLOTS 4
#define RID_SLOTS 4  /* ResponseMetadata/RequestId, RequestId, RequestID, requestId */

struct frame {
  int type;
  int kind;          /* F_SCALAR: the value kind */
  int base;          /* first of the frame's NSLOTS stack slots */
  int child_key;     /* F_ENTRY: the open child is the key */
  int flat;          /* F_STRUCT: the open child is a flattened item */
  int child_kind;    /* F_STRUCT: the open child's value kind */
  lua_Integer n;     /* F_LIST: items so far */
};

struct reader {
  lua_State *L;
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
};

struct box {
  struct kumo_xml *x;
};


static const char *lname (const char *name) {
  const char *c = strchr(name, ':');
  return c ? c + 1 : name;
}


/* Field i of the table at idx as an integer (0 when absent). */
static lua_Integer geti_int (lua_State *L, int idx, int i) {
  lua_Integer v;
  lua_rawgeti(L, idx, i);
  v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}


/* Opens a frame with NSLOTS nil slots. */
static struct frame *push_frame (struct reader *r, int type) {
  lua_State *L = r->L;
  struct frame *f = &r->frames[r->nframes++];
  luaL_checkstack(L, NSLOTS + 8, "xml: document too deep");
  f->type = type;
  f->kind = 0;
  f->base = lua_gettop(L) + 1;
  f->child_key = 0;
  f->flat = 0;
  f->child_kind = 0;
  f->n = 0;
  lua_settop(L, f->base + NSLOTS - 1);
  return f;
}


/*
** Opens a frame reading the value described by the table at index v.
** 'existing' is the index of a map to fill (a map member read again), or 0.
*/
static void open_value (struct reader *r, int v, int existing) {
  lua_State *L = r->L;
  int kind = (int)geti_int(L, v, 2);
  struct frame *f;
  switch (kind) {
    case K_STRUCT:
      f = push_frame(r, F_STRUCT);
      lua_newtable(L);
      break;
    case K_LIST:
      f = push_frame(r, F_LIST);
      lua_newtable(L);
      lua_pushvalue(L, A_ARRAYMT);
      lua_setmetatable(L, -2);
      break;
    case K_MAP:
      f = push_frame(r, F_MAP);
      if (existing)
        lua_pushvalue(L, existing);
      else
        lua_newtable(L);
      break;
    default:
      f = push_frame(r, F_SCALAR);
      f->kind = kind;
      return;
  }
  lua_replace(L, f->base);
  lua_rawgeti(L, v, 3);
  lua_replace(L, f->base + 1);
}


/* Opens an entry frame of the map described at m, filling the map at t. */
static void open_entry (struct reader *r, int m, int t) {
  lua_State *L = r->L;
  struct frame *f = push_frame(r, F_ENTRY);
  lua_pushvalue(L, m);
  lua_replace(L, f->base + 1);
  lua_pushvalue(L, t);
  lua_replace(L, f->base + 3);
}


/* out[name] of the struct frame p, created (as a list or map) if absent;
** leaves it on the stack. */
static void member_container (struct reader *r, struct frame *p, int e,
                              int list) {
  lua_State *L = r->L;
  lua_rawgeti(L, e, 1);              /* name */
  lua_pushvalue(L, -1);
  lua_rawget(L, p->base);
  if (lua_istable(L, -1)) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  lua_newtable(L);
  if (list) {
    lua_pushvalue(L, A_ARRAYMT);
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, -1);
  lua_insert(L, -3);                 /* t name t */
  lua_rawset(L, p->base);
}


static int on_start (void *ud, const char *name, const char **attrs) {
  struct reader *r = (struct reader *)ud;
  lua_State *L = r->L;
  struct frame *p;
  int d = r->depth++;
  (void)attrs;
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
    if (r->wrapper != NULL) {
      push_frame(r, F_WRAP);
      return 0;
    }
    open_value(r, A_DESC, 0);
    return 0;
  }
  p = &r->frames[r->nframes - 1];
  switch (p->type) {
    case F_STRUCT: {
      int e, kind;
      lua_pushstring(L, name);
      lua_rawget(L, p->base + 1);
      if (lua_isnil(L, -1) && lname(name) != name) {
        lua_pop(L, 1);
        lua_pushstring(L, lname(name));
        lua_rawget(L, p->base + 1);
      }
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        r->skip = 1;
        return 0;
      }
      lua_replace(L, p->base + 2);
      e = p->base + 2;
      kind = (int)geti_int(L, e, 2);
      p->child_kind = kind;
      lua_rawgeti(L, e, 4);
      p->flat = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (p->flat && kind == K_LIST) {
        member_container(r, p, e, 1);
        lua_pop(L, 1);
        lua_rawgeti(L, e, 3);        /* the item's value */
        open_value(r, lua_gettop(L), 0);
        /* the item value sat below the new frame: drop it */
        lua_remove(L, r->frames[r->nframes - 1].base - 1);
        r->frames[r->nframes - 1].base--;
      }
      else if (kind == K_MAP) {
        int t;
        member_container(r, p, e, 0);
        t = lua_gettop(L);
        if (p->flat) {
          lua_rawgeti(L, e, 3);
          open_entry(r, t + 1, t);
        }
        else {
          open_value(r, e, t);
        }
        /* drop the helpers below the new frame */
        {
          struct frame *f = &r->frames[r->nframes - 1];
          int n = f->base - t;
          int i;
          for (i = 0; i < n; i++)
            lua_remove(L, t);
          f->base -= n;
        }
      }
      else
        open_value(r, e, 0);
      return 0;
    }
    case F_LIST:
      p->n++;
      open_value(r, p->base + 1, 0);
      return 0;
    case F_MAP:
      open_entry(r, p->base + 1, p->base);
      return 0;
    case F_ENTRY: {
      const char *ln = lname(name);
      lua_rawgeti(L, p->base + 1, 1);
      if (strcmp(ln, lua_tostring(L, -1)) == 0) {
        lua_pop(L, 1);
        p->child_key = 1;
        push_frame(r, F_KEY);
        return 0;
      }
      lua_pop(L, 1);
      lua_rawgeti(L, p->base + 1, 2);
      if (strcmp(ln, lua_tostring(L, -1)) == 0) {
        int v;
        lua_pop(L, 1);
        p->child_key = 0;
        lua_rawgeti(L, p->base + 1, 3);
        v = lua_gettop(L);
        open_value(r, v, 0);
        lua_remove(L, v);
        r->frames[r->nframes - 1].base--;
        return 0;
      }
      lua_pop(L, 1);
      r->skip = 1;
      return 0;
    }
    case F_WRAP:
      if (!r->found && strcmp(lname(name), r->wrapper) == 0) {
        r->found = 1;
        open_value(r, A_DESC, 0);
      }
      else
        r->skip = 1;
      return 0;
    default:  /* scalars and keys: child elements carry no value */
      r->skip = 1;
      return 0;
  }
}


/* Pushes the value of a scalar of 'kind' from its text. */
static void push_scalar (lua_State *L, int kind, const char *s, size_t len) {
  switch (kind) {
    case K_INT: {
      lua_pushlstring(L, s, len);
      if (lua_stringtonumber(L, lua_tostring(L, -1)) == len + 1) {
        lua_Integer i;
        lua_remove(L, -2);
        if (!lua_isinteger(L, -1)) {
          int isint;
          i = lua_tointegerx(L, -1, &isint);
          if (isint) {
            lua_pop(L, 1);
            lua_pushinteger(L, i);
          }
        }
      }
      else {
        lua_pop(L, 1);
        lua_pushnil(L);
      }
      return;
    }
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


static int on_end (void *ud, const char *name, const char *text,
                   size_t len) {
  struct reader *r = (struct reader *)ud;
  lua_State *L = r->L;
  struct frame *f, *p;
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
      lua_settop(L, f->base - 1);
      push_scalar(L, f->kind, text, len);
      break;
    case F_KEY:
      lua_settop(L, f->base - 1);
      lua_pushlstring(L, text, len);
      break;
    case F_ENTRY:
      if (!lua_isnil(L, f->base)) {
        lua_pushvalue(L, f->base);
        lua_pushvalue(L, f->base + 2);
        lua_rawset(L, f->base + 3);
      }
      lua_settop(L, f->base - 1);
      lua_pushnil(L);
      break;
    case F_WRAP:
      lua_settop(L, f->base - 1);
      return 0;
    default:
      lua_settop(L, f->base);
      break;
  }
  if (r->nframes == 0) {
    lua_replace(L, r->result);
    r->have = 1;
    return 0;
  }
  p = &r->frames[r->nframes - 1];
  switch (p->type) {
    case F_STRUCT:
      if (p->flat && p->child_kind == K_LIST) {
        if (!lua_isnil(L, -1)) {
          lua_rawgeti(L, p->base + 2, 1);
          lua_rawget(L, p->base);
          lua_insert(L, -2);
          lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        }
        lua_pop(L, 1);
      }
      else if (p->child_kind == K_MAP) {
        lua_pop(L, 1);  /* the map is out[name] already */
      }
      else {
        lua_rawgeti(L, p->base + 2, 1);
        lua_insert(L, -2);
        lua_rawset(L, p->base);
      }
      break;
    case F_LIST:
      lua_rawseti(L, p->base, p->n);
      break;
    case F_ENTRY:
      lua_replace(L, p->child_key ? p->base : p->base + 2);
      break;
    case F_WRAP:
      lua_replace(L, r->result);
      r->have = 1;
      break;
    default:  /* F_MAP: the entry wrote itself */
      lua_pop(L, 1);
      break;
  }
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
  char err[256];
  int i, rc;
  luaL_checktype(L, A_DESC, LUA_TTABLE);
  if (!lua_isnoneornil(L, A_WRAP))
    luaL_checkstring(L, A_WRAP);
  luaL_checktype(L, A_AUX, LUA_TTABLE);
  lua_settop(L, A_AUX);
  for (i = 1; i <= 4; i++)
    lua_rawgeti(L, A_AUX, i);  /* array mt, float, time, blob */
  bx = (struct box *)lua_newuserdatauv(L, sizeof(*bx), 0);
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
  for (i = 0; i <= RID_SLOTS; i++)
    lua_pushnil(L);
  r->rid_base = lua_gettop(L) - RID_SLOTS;
  r->result = r->rid_base + RID_SLOTS;
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
  for (i = 0; i < RID_SLOTS; i++) {
    if (!lua_isnil(L, r->rid_base + i)) {
      lua_pushvalue(L, r->rid_base + i);
      return 2;
    }
  }
  lua_pushnil(L);
  return 2;
}
