/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.sigv4: the Lua binding of src/sigv4.c (AWS Signature Version 4).
** Only argument checking and result tables live here; the signing is in
** sigv4.c. One signer (with its signing-key cache) per Lua state, kept as
** an upvalue; its __gc wipes the cached keys.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/host.h"
#include "kumo/sigv4.h"

#define SIGNER_META "kumo.sigv4.Signer"
#define DEFAULT_EXPIRES 3600

/*
** The field names, interned once as upvalues 2.. of sign and presign: a
** lua_getfield with a C string re-checks its string cache with strcmp on
** every call, and these are read on every signature.
*/
enum field {
  F_METHOD, F_URL, F_BODY, F_REGION, F_SERVICE, F_ACCESS_KEY_ID,
  F_SECRET_ACCESS_KEY, F_SESSION_TOKEN, F_TIME, F_NORMALIZE_PATH,
  F_SIGN_BODY_HASH_HEADER, F_UNSIGNED_PAYLOAD, F_OMIT_SESSION_TOKEN,
  F_EXPIRES, F_HEADERS, F_CANONICAL_REQUEST, F_STRING_TO_SIGN, F_SIGNATURE,
  F_AUTHORIZATION, F_COUNT
};

static const char *const field_names[F_COUNT] = {
  "method", "url", "body", "region", "service", "access_key_id",
  "secret_access_key", "session_token", "time", "normalize_path",
  "sign_body_hash_header", "unsigned_payload", "omit_session_token",
  "expires", "headers", "canonical_request", "string_to_sign", "signature",
  "authorization"
};

#define KEY_UPVALUE(f) lua_upvalueindex(2 + (int)(f))


/* Push field 'f' of the request table (index 1); returns its type. */
static int get_field (lua_State *L, enum field f) {
  lua_pushvalue(L, KEY_UPVALUE(f));
  return lua_gettable(L, 1);
}


/* The per-state signer and the header array reused across calls. */
struct signer_box {
  struct kumo_sigv4_signer *signer;
  struct kumo_sigv4_header *headers;
  size_t headers_cap;
  int headers_are_map;   /* how the last call gave its headers */
};


static int signer_gc (lua_State *L) {
  struct signer_box *b = (struct signer_box *)luaL_checkudata(L, 1,
                                                              SIGNER_META);
  kumo_sigv4_signer_free(b->signer);  /* wipes the key cache */
  b->signer = NULL;
  free(b->headers);
  b->headers = NULL;
  b->headers_cap = 0;
  return 0;
}


/* Field 'f' of the request table (index 1), left on the stack.
** Returns NULL for nil when not required. */
static const char *opt_string (lua_State *L, const char *fn, enum field f,
                               size_t *len, int required) {
  const char *name = field_names[f];
  int t = get_field(L, f);
  if (t == LUA_TSTRING)
    return lua_tolstring(L, -1, len);
  if (t == LUA_TNIL && !required) {
    *len = 0;
    return NULL;
  }
  luaL_error(L, "sigv4.%s: field '%s' must be a string (got %s)", fn, name,
             luaL_typename(L, -1));
  return NULL;
}


static int opt_boolean (lua_State *L, const char *fn, enum field f,
                        int def) {
  const char *name = field_names[f];
  int t = get_field(L, f);
  int v = def;
  if (t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "sigv4.%s: field '%s' must be a boolean (got %s)", fn,
               name, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}


/* 'time' in unix seconds (fractions dropped), default now. Values out of
** range become -1 so sigv4.c reports them. */
static int64_t opt_time (lua_State *L, const char *fn) {
  int t = get_field(L, F_TIME);
  int64_t v;
  if (t == LUA_TNIL)
    v = (int64_t)time(NULL);
  else if (t != LUA_TNUMBER) {
    luaL_error(L, "sigv4.%s: field 'time' must be unix seconds, a number "
               "(got %s)", fn, luaL_typename(L, -1));
    v = 0;
  }
  else if (lua_isinteger(L, -1))
    v = (int64_t)lua_tointeger(L, -1);
  else {
    lua_Number n = floor(lua_tonumber(L, -1));
    v = (n >= 0 && n < 1e13) ? (int64_t)n : -1;
  }
  lua_pop(L, 1);
  return v;
}


static long opt_expires (lua_State *L, const char *fn) {
  int t = get_field(L, F_EXPIRES);
  lua_Integer v = DEFAULT_EXPIRES;
  if (t != LUA_TNIL) {
    int isint;
    v = lua_tointegerx(L, -1, &isint);
    if (t != LUA_TNUMBER || !isint || v < 1 || v > KUMO_SIGV4_MAX_EXPIRES)
      luaL_error(L, "sigv4.%s: field 'expires' must be a whole number of "
                 "seconds from 1 to %d", fn, KUMO_SIGV4_MAX_EXPIRES);
  }
  lua_pop(L, 1);
  return (long)v;
}


static void reserve_headers (lua_State *L, struct signer_box *b, size_t n) {
  struct kumo_sigv4_header *h;
  if (n <= b->headers_cap)
    return;
  if (n < 16)
    n = 16;
  h = (struct kumo_sigv4_header *)realloc(b->headers, n * sizeof(*h));
  if (h == NULL)
    luaL_error(L, "not enough memory");
  b->headers = h;
  b->headers_cap = n;
}


/* A header value (stack top): a string, or a number whose string form is
** inserted just above the headers table at 'idx', so it stays anchored
** until the call returns while the slots above keep their order. */
static const char *header_value (lua_State *L, int idx, size_t *len) {
  if (lua_type(L, -1) == LUA_TSTRING)
    return lua_tolstring(L, -1, len);
  if (lua_type(L, -1) != LUA_TNUMBER)
    return NULL;
  luaL_checkstack(L, 2, "too many numeric header values");
  lua_pushvalue(L, -1);
  lua_tolstring(L, -1, NULL);
  lua_insert(L, idx + 1);
  return lua_tolstring(L, idx + 1, len);
}


/*
** The 'headers' field (on the stack top): a list of {name, value} or a
** name -> value map. Fills b->headers with pointers to strings that the
** (anchored) table or the stack keeps alive. Raw access: no Lua code runs.
*/
static size_t read_headers (lua_State *L, struct signer_box *b,
                            const char *fn) {
  int idx = lua_gettop(L);
  size_t n = 0;
  if (lua_isnil(L, idx))
    return 0;
  if (!lua_istable(L, idx))
    luaL_error(L, "sigv4.%s: field 'headers' must be a list of {name, value}"
               " or a name -> value map (got %s)", fn,
               luaL_typename(L, idx));
  if (lua_rawgeti(L, idx, 1) != LUA_TNIL) {  /* a list */
    size_t i, len = lua_rawlen(L, idx);
    lua_pop(L, 1);
    reserve_headers(L, b, len);
    b->headers_are_map = 0;
    for (i = 1; i <= len; i++) {
      struct kumo_sigv4_header *h = &b->headers[n];
      if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE)
        luaL_error(L, "sigv4.%s: headers[%d] must be a {name, value} pair "
                   "(got %s)", fn, (int)i, luaL_typename(L, -1));
      if (lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        luaL_error(L, "sigv4.%s: headers[%d][1] (the name) must be a string "
                   "(got %s)", fn, (int)i, luaL_typename(L, -1));
      h->name = lua_tolstring(L, -1, &h->name_len);
      lua_pop(L, 1);
      lua_rawgeti(L, -1, 2);
      h->value = header_value(L, idx, &h->value_len);
      if (h->value == NULL)
        luaL_error(L, "sigv4.%s: headers[%d][2] (the value of %s) must be a "
                   "string (got %s)", fn, (int)i, h->name,
                   luaL_typename(L, -1));
      lua_pop(L, 2);  /* the value and the pair */
      n++;
    }
    return n;
  }
  lua_pop(L, 1);
  b->headers_are_map = 1;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {  /* a map */
    struct kumo_sigv4_header *h;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "sigv4.%s: field 'headers' is a map, so its keys must "
                 "be header names (got a %s key)", fn, luaL_typename(L, -2));
    reserve_headers(L, b, n + 1);
    h = &b->headers[n];
    h->name = lua_tolstring(L, -2, &h->name_len);
    h->value = header_value(L, idx, &h->value_len);
    if (h->value == NULL)
      luaL_error(L, "sigv4.%s: headers[\"%s\"] must be a string (got %s)",
                 fn, h->name, luaL_typename(L, -1));
    lua_pop(L, 1);
    n++;
  }
  return n;
}


/* Raise the error for a code, naming the field (never a value). */
static int sign_error (lua_State *L, const char *fn, int rc,
                       const struct signer_box *b) {
  const char *field;
  switch (rc) {
    case KUMO_SIGV4_BAD_METHOD: field = "method"; break;
    case KUMO_SIGV4_BAD_URL: field = "url"; break;
    case KUMO_SIGV4_BAD_DATE: field = "headers"; break;
    case KUMO_SIGV4_BAD_TIME: field = "time"; break;
    case KUMO_SIGV4_BAD_EXPIRES: field = "expires"; break;
    case KUMO_SIGV4_BAD_REGION: field = "region"; break;
    case KUMO_SIGV4_BAD_SERVICE: field = "service"; break;
    case KUMO_SIGV4_BAD_KEY_ID: field = "access_key_id"; break;
    case KUMO_SIGV4_BAD_SECRET: field = "secret_access_key"; break;
    case KUMO_SIGV4_BAD_HEADER: {
      size_t i = kumo_sigv4_error_index(b->signer);
      const struct kumo_sigv4_header *h = &b->headers[i];
      if (b->headers_are_map)
        return luaL_error(L, "sigv4.%s: bad header name in 'headers' (%s)",
                          fn, kumo_sigv4_strerror(rc));
      lua_pushlstring(L, h->name, h->name_len);  /* names are not secret */
      return luaL_error(L, "sigv4.%s: bad field 'headers[%d][1]' (%s; got "
                        "\"%s\")", fn, (int)i + 1, kumo_sigv4_strerror(rc),
                        lua_tostring(L, -1));
    }
    default:
      return luaL_error(L, "sigv4.%s: %s", fn, kumo_sigv4_strerror(rc));
  }
  return luaL_error(L, "sigv4.%s: bad field '%s' (%s)", fn, field,
                    kumo_sigv4_strerror(rc));
}


/* t[key] = s for the table on the top.   [-0, +0] */
static void set_string (lua_State *L, enum field key, const char *s,
                        size_t len) {
  lua_pushvalue(L, KEY_UPVALUE(key));
  lua_pushlstring(L, s, len);
  lua_rawset(L, -3);
}


/* info = { canonical_request=, string_to_sign=, signature=,
**          authorization= (header form) }   [-0, +1] */
static void push_info (lua_State *L, const struct kumo_sigv4_result *r) {
  lua_createtable(L, 0, 4);
  set_string(L, F_CANONICAL_REQUEST, r->canonical_request,
             r->canonical_request_len);
  set_string(L, F_STRING_TO_SIGN, r->string_to_sign, r->string_to_sign_len);
  set_string(L, F_SIGNATURE, r->signature, 64);
  if (r->authorization != NULL)
    set_string(L, F_AUTHORIZATION, r->authorization, r->authorization_len);
}


static int sign_common (lua_State *L, const char *fn, int presign) {
  struct signer_box *b = (struct signer_box *)lua_touserdata(
      L, lua_upvalueindex(1));
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  int rc;
  size_t i;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (b->signer == NULL)
    return luaL_error(L, "sigv4.%s: the signer was closed", fn);
  lua_settop(L, 1);
  luaL_checkstack(L, 24, NULL);
  memset(&p, 0, sizeof(p));
  /* Every string stays on the stack until the call returns. */
  req.method = opt_string(L, fn, F_METHOD, &req.method_len, 1);
  req.url = opt_string(L, fn, F_URL, &req.url_len, 1);
  req.body = opt_string(L, fn, F_BODY, &req.body_len, 0);
  p.region = opt_string(L, fn, F_REGION, &p.region_len, 1);
  p.service = opt_string(L, fn, F_SERVICE, &p.service_len, 1);
  p.access_key_id = opt_string(L, fn, F_ACCESS_KEY_ID,
                               &p.access_key_id_len, 1);
  p.secret_access_key = opt_string(L, fn, F_SECRET_ACCESS_KEY,
                                   &p.secret_access_key_len, 1);
  p.session_token = opt_string(L, fn, F_SESSION_TOKEN,
                               &p.session_token_len, 0);
  p.time = opt_time(L, fn);
  if (opt_boolean(L, fn, F_NORMALIZE_PATH, 1))
    p.flags |= KUMO_SIGV4_NORMALIZE_PATH;
  if (opt_boolean(L, fn, F_SIGN_BODY_HASH_HEADER, 0))
    p.flags |= KUMO_SIGV4_SIGN_BODY_HASH;
  if (opt_boolean(L, fn, F_UNSIGNED_PAYLOAD, 0))
    p.flags |= KUMO_SIGV4_UNSIGNED_PAYLOAD;
  if (opt_boolean(L, fn, F_OMIT_SESSION_TOKEN, 0))
    p.flags |= KUMO_SIGV4_OMIT_SESSION_TOKEN;
  p.expires = presign ? opt_expires(L, fn) : DEFAULT_EXPIRES;
  get_field(L, F_HEADERS);  /* last: anchored, then read raw */
  req.nheaders = read_headers(L, b, fn);
  req.headers = b->headers;
  if (presign)
    rc = kumo_sigv4_presign(b->signer, &req, &p, &r);
  else
    rc = kumo_sigv4_sign(b->signer, &req, &p, &r);
  if (rc != KUMO_SIGV4_OK)
    return sign_error(L, fn, rc, b);
  if (presign)
    lua_pushlstring(L, r.url, r.url_len);
  else {
    lua_createtable(L, (int)r.nadd, 0);
    for (i = 0; i < r.nadd; i++) {
      lua_createtable(L, 2, 0);
      lua_pushlstring(L, r.add[i].name, r.add[i].name_len);
      lua_rawseti(L, -2, 1);
      lua_pushlstring(L, r.add[i].value, r.add[i].value_len);
      lua_rawseti(L, -2, 2);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  }
  push_info(L, &r);
  return 2;
}


/***
** Sign a request in the header form (AWS Signature Version 4).
** @function sign
** @tparam table req
**   method, url (strings); headers: a list of {name, value} (integer keys
**   only) or a name -> value map, values strings or numbers; body (string,
**   default ""); region, service, access_key_id, secret_access_key;
**   session_token (optional); time (unix seconds, default now);
**   normalize_path (true; false for S3: no normalisation, encode once);
**   sign_body_hash_header (false: add x-amz-content-sha256);
**   unsigned_payload (false: sign UNSIGNED-PAYLOAD instead of the body);
**   omit_session_token (false: add X-Amz-Security-Token after signing).
**   A carried X-Amz-Date sets the time and is not added again; a carried
**   X-Amz-Security-Token or x-amz-content-sha256 is not added again;
**   Authorization, User-Agent and hop-by-hop headers are not signed.
** @treturn table add: the {name, value} headers to add, in this order:
**   Authorization, X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256
**   (each only when needed)
** @treturn table info: canonical_request, string_to_sign, signature,
**   authorization
** @raise on a bad field, naming it (never showing a secret)
*/
static int sigv4_sign (lua_State *L) {
  return sign_common(L, "sign", 0);
}


/***
** Presign a request (the query form): the signature goes in the URL.
** @function presign
** @tparam table req the fields of sign, plus expires (seconds, 1 to
**   604800, default 3600); the body is still hashed unless
**   unsigned_payload; with omit_session_token the token follows
**   X-Amz-Signature in the URL instead of being signed
** @treturn string the presigned URL (the canonical query, then
**   X-Amz-Signature)
** @treturn table info: canonical_request, string_to_sign, signature
*/
static int sigv4_presign (lua_State *L) {
  return sign_common(L, "presign", 1);
}


static const luaL_Reg sigv4_funcs[] = {
  {"presign", sigv4_presign},
  {"sign", sigv4_sign},
  {NULL, NULL}
};

static const luaL_Reg signer_meta[] = {
  {"__gc", signer_gc},
  {"__close", signer_gc},
  {NULL, NULL}
};


int luaopen_kumo_sigv4 (lua_State *L) {
  struct signer_box *b;
  int i;
  luaL_newlibtable(L, sigv4_funcs);
  b = (struct signer_box *)lua_newuserdatauv(L, sizeof(*b), 0);
  memset(b, 0, sizeof(*b));
  if (luaL_newmetatable(L, SIGNER_META)) {
    luaL_setfuncs(L, signer_meta, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  b->signer = kumo_sigv4_signer_new();
  if (b->signer == NULL)
    return luaL_error(L, "kumo.sigv4: not enough memory");
  for (i = 0; i < F_COUNT; i++)
    lua_pushstring(L, field_names[i]);
  luaL_setfuncs(L, sigv4_funcs, 1 + F_COUNT);  /* box and names: upvalues */
  return 1;
}
