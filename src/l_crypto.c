/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.crypto: Lua binding of crypto.c. Raw results are Lua strings of
** bytes; '_hex' variants are lower-case hex. Digests that may be key
** material (HMAC outputs feed SigV4 key derivation) are wiped from the C
** stack once pushed.
*/
#include <stdlib.h>
#include <string.h>

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


/* (s [, crc]) -> the CRC of s by 'update', continuing crc (default 0) */
static int push_crc (lua_State *L,
                     unsigned long (*update) (unsigned long, const void *, size_t)) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer crc = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, crc >= 0 && crc <= 0xffffffffLL, 2, "a CRC is 0 to 2^32-1");
  lua_pushinteger(L, (lua_Integer)update((unsigned long)crc, s, len));
  return 1;
}


/*** crc32(s [, crc]) -> CRC-32 (IEEE) as an integer (gzip, event stream
** frames, S3 checksums); crc continues a running value */
static int crypto_crc32 (lua_State *L) {
  return push_crc(L, kumo_crc32_update);
}


/*** crc32c(s [, crc]) -> CRC-32C (Castagnoli) as an integer (S3 checksums);
** crc continues a running value */
static int crypto_crc32c (lua_State *L) {
  return push_crc(L, kumo_crc32c);
}


/*** sha1(s) -> raw SHA-1 (S3's SHA1 checksum) */
static int crypto_sha1 (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[KUMO_SHA1_LEN];
  if (kumo_sha1(s, len, d) != 0)
    return luaL_error(L, "sha1: OpenSSL failure");
  pushdigest(L, d, sizeof(d), 0);
  return 1;
}


static const struct { const char *name; int bit; } sum_names[] = {
  {"sha256", KUMO_SUM_SHA256}, {"sha1", KUMO_SUM_SHA1}, {"md5", KUMO_SUM_MD5},
  {"crc32", KUMO_SUM_CRC32}, {"crc32c", KUMO_SUM_CRC32C}, {NULL, 0}
};


/*** file_sums(path, { "sha256", "crc32c", ..., offset = 0, length = n })
** -> { sha256 = raw, sha1 = raw, md5 = raw, crc32 = int, crc32c = int,
** size = n } (only those asked) or nil, message: digests of a byte range of
** a file (to the end when length is absent) read in 64 KiB pieces */
static int crypto_file_sums (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  long long offset, length;
  int which = 0, i, j;
  struct kumo_sums s;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_getfield(L, 2, "offset");
  offset = (long long)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 2, "length");
  length = (long long)luaL_optinteger(L, -1, -1);
  lua_pop(L, 2);
  luaL_argcheck(L, offset >= 0, 2, "offset must be >= 0");
  for (i = 1; lua_geti(L, 2, i) != LUA_TNIL; i++) {
    const char *name = luaL_checkstring(L, -1);
    for (j = 0; sum_names[j].name != NULL; j++)
      if (strcmp(name, sum_names[j].name) == 0)
        break;
    if (sum_names[j].name == NULL)
      return luaL_error(L, "file_sums: unknown digest '%s' (use sha256, sha1, "
                           "md5, crc32, crc32c)", name);
    which |= sum_names[j].bit;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (kumo_file_sums(path, offset, length, which, &s) != 0)
    return luaL_fileresult(L, 0, path);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, (lua_Integer)s.size);
  lua_setfield(L, -2, "size");
  if (which & KUMO_SUM_SHA256) {
    lua_pushlstring(L, (const char *)s.sha256, sizeof(s.sha256));
    lua_setfield(L, -2, "sha256");
  }
  if (which & KUMO_SUM_SHA1) {
    lua_pushlstring(L, (const char *)s.sha1, sizeof(s.sha1));
    lua_setfield(L, -2, "sha1");
  }
  if (which & KUMO_SUM_MD5) {
    lua_pushlstring(L, (const char *)s.md5, sizeof(s.md5));
    lua_setfield(L, -2, "md5");
  }
  if (which & KUMO_SUM_CRC32) {
    lua_pushinteger(L, (lua_Integer)s.crc32);
    lua_setfield(L, -2, "crc32");
  }
  if (which & KUMO_SUM_CRC32C) {
    lua_pushinteger(L, (lua_Integer)s.crc32c);
    lua_setfield(L, -2, "crc32c");
  }
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
  {"crc32c", crypto_crc32c},
  {"file_sums", crypto_file_sums},
  {"gzip", crypto_gzip},
  {"hex", crypto_hex},
  {"hmac_sha256", crypto_hmac_sha256},
  {"inflate", crypto_inflate},
  {"hmac_sha256_hex", crypto_hmac_sha256_hex},
  {"md5_base64", crypto_md5_base64},
  {"random", crypto_random},
  {"sha1", crypto_sha1},
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
