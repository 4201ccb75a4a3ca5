/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.crypto: Lua binding of crypto.c. Raw results are Lua strings of
** bytes; '_hex' variants are lower-case hex. Digests that may be key
** material (HMAC outputs feed SigV4 key derivation) are wiped from the C
** stack once pushed.
*/
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/crypto.h"
#include "kumo/host.h"


/* Push 'len' bytes as raw or hex, then wipe them. */
static void pushdigest (lua_State *L, unsigned char *d, size_t len, int hex) {
  if (hex) {
    char buf[2 * 64];
    kumo_hex(d, len, buf);
    lua_pushlstring(L, buf, 2 * len);
    kumo_cleanse(buf, sizeof(buf));
  }
  else
    lua_pushlstring(L, (const char *)d, len);
  kumo_cleanse(d, len);
}


static int sha256 (lua_State *L, int hex) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[KUMO_SHA256_LEN];
  if (kumo_sha256(s, len, d) != 0)
    return luaL_error(L, "sha256: OpenSSL failure");
  pushdigest(L, d, sizeof(d), hex);
  return 1;
}


static int hmac_sha256 (lua_State *L, int hex) {
  size_t klen, len;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *s = luaL_checklstring(L, 2, &len);
  unsigned char d[KUMO_SHA256_LEN];
  if (kumo_hmac_sha256(key, klen, s, len, d) != 0)
    return luaL_error(L, "hmac_sha256: OpenSSL failure");
  pushdigest(L, d, sizeof(d), hex);
  return 1;
}


/*** sha256(s) -> 32 raw bytes */
static int crypto_sha256 (lua_State *L) { return sha256(L, 0); }
/*** sha256_hex(s) -> 64 hex digits */
static int crypto_sha256_hex (lua_State *L) { return sha256(L, 1); }
/*** hmac_sha256(key, s) -> 32 raw bytes */
static int crypto_hmac_sha256 (lua_State *L) { return hmac_sha256(L, 0); }
/*** hmac_sha256_hex(key, s) -> 64 hex digits */
static int crypto_hmac_sha256_hex (lua_State *L) { return hmac_sha256(L, 1); }


/*** sha1_hex(s) -> 40 hex digits */
static int crypto_sha1_hex (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[KUMO_SHA1_LEN];
  if (kumo_sha1(s, len, d) != 0)
    return luaL_error(L, "sha1_hex: OpenSSL failure");
  pushdigest(L, d, sizeof(d), 1);
  return 1;
}


/*** md5_base64(s) -> base64 of the MD5 digest (Content-MD5 headers) */
static int crypto_md5_base64 (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[KUMO_MD5_LEN];
  char out[24];
  if (kumo_md5(s, len, d) != 0)
    return luaL_error(L, "md5_base64: OpenSSL failure");
  kumo_base64_encode(d, sizeof(d), out);
  lua_pushlstring(L, out, kumo_base64_len(sizeof(d)));
  return 1;
}


/*** hex(raw) -> lower-case hex */
static int crypto_hex (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, 2 * len);
  kumo_hex(s, len, out);
  luaL_pushresultsize(&b, 2 * len);
  return 1;
}


/*** random(n) -> n raw bytes from the CSPRNG */
static int crypto_random (lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_Buffer b;
  char *out;
  luaL_argcheck(L, n >= 0 && n <= (1 << 24), 1,
                "byte count must be between 0 and 16777216");
  out = luaL_buffinitsize(L, &b, (size_t)n);
  if (kumo_random(out, (size_t)n) != 0)
    return luaL_error(L, "random: OpenSSL's random generator failed");
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}


/*** uuid4() -> "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
static int crypto_uuid4 (lua_State *L) {
  char out[KUMO_UUID_LEN + 1];
  if (kumo_uuid4(out) != 0)
    return luaL_error(L, "uuid4: OpenSSL's random generator failed");
  lua_pushlstring(L, out, KUMO_UUID_LEN);
  return 1;
}


/*** base64_encode(s) -> standard, padded base64 */
static int crypto_base64_encode (lua_State *L) {
  size_t len, olen;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char *out;
  luaL_argcheck(L, len < ((size_t)-1 / 4) * 3 - 3, 1, "string too long");
  olen = kumo_base64_len(len);
  out = luaL_buffinitsize(L, &b, olen);
  kumo_base64_encode(s, len, out);
  luaL_pushresultsize(&b, olen);
  return 1;
}


/*** base64_decode(s) -> bytes, or nil, message */
static int crypto_base64_decode (lua_State *L) {
  size_t len, olen = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b,
                                                          len / 4 * 3 + 3);
  if (kumo_base64_decode(s, len, out, &olen) != 0) {
    luaL_pushfail(L);
    lua_pushliteral(L, "base64_decode: not valid base64 (standard "
                       "alphabet, padded to a multiple of 4 characters)");
    return 2;
  }
  luaL_pushresultsize(&b, olen);
  return 1;
}


/*** crc32(s) -> CRC-32 (IEEE) as an integer (gzip, event stream frames) */
static int crypto_crc32 (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_pushinteger(L, (lua_Integer)kumo_crc32(s, len));
  return 1;
}


/*** gzip(s [, level]) -> RFC 1952 gzip of s (level 1..9, default zlib's) */
static int crypto_gzip (lua_State *L) {
  size_t len, olen = 0, bound;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer level = luaL_optinteger(L, 2, -1);
  luaL_Buffer b;
  unsigned char *out;
  luaL_argcheck(L, level == -1 || (level >= 1 && level <= 9), 2,
                "compression level must be 1..9");
  bound = kumo_gzip_bound(len);
  luaL_argcheck(L, bound > 0, 1, "string too long to gzip (4 GiB at most)");
  out = (unsigned char *)luaL_buffinitsize(L, &b, bound);
  if (kumo_gzip(s, len, (int)level, out, &olen) != 0)
    return luaL_error(L, "gzip: zlib could not compress %I bytes "
                         "(out of memory)", (lua_Integer)len);
  luaL_pushresultsize(&b, olen);
  return 1;
}


/*** inflate(s [, max]) -> the bytes of zlib or gzip data s (at most max,
** default 256 MiB), or nil, message when s is corrupt or too large */
static int crypto_inflate (lua_State *L) {
  size_t len, olen = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer max = luaL_optinteger(L, 2, (lua_Integer)256 << 20);
  unsigned char *out = NULL;
  int rc;
  luaL_argcheck(L, max > 0, 2, "the size limit must be positive");
  rc = kumo_inflate(s, len, (size_t)max, &out, &olen);
  if (rc == -3)
    return luaL_error(L, "inflate: out of memory");
  if (rc != 0) {
    luaL_pushfail(L);
    if (rc == -2)
      lua_pushfstring(L, "inflate: data expands past %I bytes", max);
    else
      lua_pushliteral(L, "inflate: not zlib or gzip data, or truncated");
    return 2;
  }
  lua_pushlstring(L, (const char *)out, olen);
  free(out);
  return 1;
}


static const luaL_Reg crypto_funcs[] = {
  {"base64_decode", crypto_base64_decode},
  {"base64_encode", crypto_base64_encode},
  {"crc32", crypto_crc32},
  {"gzip", crypto_gzip},
  {"hex", crypto_hex},
  {"hmac_sha256", crypto_hmac_sha256},
  {"inflate", crypto_inflate},
  {"hmac_sha256_hex", crypto_hmac_sha256_hex},
  {"md5_base64", crypto_md5_base64},
  {"random", crypto_random},
  {"sha1_hex", crypto_sha1_hex},
  {"sha256", crypto_sha256},
  {"sha256_hex", crypto_sha256_hex},
  {"uuid4", crypto_uuid4},
  {NULL, NULL}
};


int luaopen_kumo_crypto (lua_State *L) {
  luaL_newlib(L, crypto_funcs);
  return 1;
}
