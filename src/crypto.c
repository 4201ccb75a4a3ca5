/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo crypto: thin, checked wrappers over OpenSSL's EVP one-shot calls,
** plus hex and base64 codecs (written out here: OpenSSL's EVP_Encode*
** inserts newlines and accepts whitespace, which AWS payloads never need),
** and CRC-32, gzip and inflate over zlib (which libcurl already links).
*/
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "kumo/crypto.h"


static int digest (const EVP_MD *md, const void *data, size_t len,
                   unsigned char *out) {
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, md, NULL) == 1 ? 0 : -1;
}


int kumo_sha256 (const void *data, size_t len,
                 unsigned char out[KUMO_SHA256_LEN]) {
  return digest(EVP_sha256(), data, len, out);
}


int kumo_sha1 (const void *data, size_t len, unsigned char out[KUMO_SHA1_LEN]) {
  return digest(EVP_sha1(), data, len, out);
}


int kumo_md5 (const void *data, size_t len, unsigned char out[KUMO_MD5_LEN]) {
  return digest(EVP_md5(), data, len, out);
}


int kumo_hmac_sha256 (const void *key, size_t keylen,
                      const void *data, size_t len,
                      unsigned char out[KUMO_SHA256_LEN]) {
  unsigned int n = 0;
  static const unsigned char empty = 0;
  if (keylen > (size_t)0x7fffffff)
    return -1;
  /* HMAC() treats a NULL key as "reuse the last one": never pass NULL */
  if (key == NULL)
    key = &empty;
  if (data == NULL)
    data = &empty;
  if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len,
           out, &n) == NULL)
    return -1;
  return 0;
}


int kumo_random (void *buf, size_t n) {
  unsigned char *p = (unsigned char *)buf;
  while (n > 0) {  /* RAND_bytes takes an int */
    int chunk = n > 1u << 30 ? 1 << 30 : (int)n;
    if (RAND_bytes(p, chunk) != 1)
      return -1;
    p += chunk;
    n -= (size_t)chunk;
  }
  return 0;
}


void kumo_hex (const void *data, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)data;
  size_t i;
  for (i = 0; i < len; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0x0f];
  }
}


int kumo_uuid4 (char out[KUMO_UUID_LEN + 1]) {
  unsigned char b[16];
  char hex[32];
  if (kumo_random(b, sizeof(b)) != 0)
    return -1;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
  kumo_hex(b, sizeof(b), hex);
  memcpy(out, hex, 8);
  out[8] = '-';
  memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  memcpy(out + 24, hex + 20, 12);
  out[36] = '\0';
  return 0;
}


/* {======================================================
** base64
** ======================================================= */

static const char b64chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


size_t kumo_base64_len (size_t len) {
  return (len + 2) / 3 * 4;
}


void kumo_base64_encode (const void *data, size_t len, char *out) {
  const unsigned char *p = (const unsigned char *)data;
  size_t i, o = 0;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8
                      | p[i + 2];
    out[o++] = b64chars[(v >> 18) & 63];
    out[o++] = b64chars[(v >> 12) & 63];
    out[o++] = b64chars[(v >> 6) & 63];
    out[o++] = b64chars[v & 63];
  }
  if (len - i == 1) {
    unsigned long v = (unsigned long)p[i] << 16;
    out[o++] = b64chars[(v >> 18) & 63];
    out[o++] = b64chars[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  }
  else if (len - i == 2) {
    unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
    out[o++] = b64chars[(v >> 18) & 63];
    out[o++] = b64chars[(v >> 12) & 63];
    out[o++] = b64chars[(v >> 6) & 63];
    out[o++] = '=';
  }
}


/* Value of a base64 digit, or -1. */
static int b64value (unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}


int kumo_base64_decode (const char *in, size_t len, unsigned char *out,
                        size_t *outlen) {
  size_t i, o = 0, pad = 0;
  if (len % 4 != 0)
    return -1;
  if (len > 0 && in[len - 1] == '=')
    pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
  for (i = 0; i < len; i += 4) {
    int last = (i + 4 == len);
    int d[4], k;
    unsigned long v;
    for (k = 0; k < 4; k++) {
      if (last && k >= 4 - (int)pad) {
        d[k] = 0;
        continue;
      }
      d[k] = b64value((unsigned char)in[i + k]);
      if (d[k] < 0)
        return -1;
    }
    v = (unsigned long)d[0] << 18 | (unsigned long)d[1] << 12
        | (unsigned long)d[2] << 6 | (unsigned long)d[3];
    out[o++] = (unsigned char)(v >> 16);
    if (!(last && pad == 2))
      out[o++] = (unsigned char)(v >> 8);
    else if ((v & 0xffff) != 0)
      return -1;  /* non-canonical: bits set beyond the data */
    if (!(last && pad >= 1))
      out[o++] = (unsigned char)v;
    else if (pad == 1 && (v & 0xff) != 0)
      return -1;
  }
  *outlen = o;
  return 0;
}

/* }====================================================== */


void kumo_cleanse (void *p, size_t len) {
  if (p != NULL && len > 0)
    OPENSSL_cleanse(p, len);
}


unsigned long kumo_crc32_update (unsigned long crc, const void *data,
                                 size_t len) {
  const unsigned char *p = (const unsigned char *)data;
  uLong c = (uLong)crc;
  while (len > 0) {  /* zlib takes uInt lengths */
    uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;
    c = crc32(c, p, n);
    p += n;
    len -= n;
  }
  return (unsigned long)c;
}


unsigned long kumo_crc32 (const void *data, size_t len) {
  return kumo_crc32_update(0, data, len);
}


/*
** {======================================================
** CRC-32C (Castagnoli): no Debian library exports it (zlib has only
** IEEE's), so it is here, slicing by 8 (tables built on first use).
** =======================================================
*/

#define CRC32C_POLY 0x82F63B78u  /* reflected 0x1EDC6F41 */

static uint32_t crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init (void) {
  uint32_t i, j, c;
  for (i = 0; i < 256; i++) {
    c = i;
    for (j = 0; j < 8; j++)
      c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    crc32c_table[0][i] = c;
  }
  for (i = 0; i < 256; i++) {
    c = crc32c_table[0][i];
    for (j = 1; j < 8; j++) {
      c = crc32c_table[0][c & 0xff] ^ (c >> 8);
      crc32c_table[j][i] = c;
    }
  }
  crc32c_ready = 1;
}


unsigned long kumo_crc32c (unsigned long crc, const void *data, size_t len) {
  const unsigned char *p = (const unsigned char *)data;
  uint32_t c = ~(uint32_t)crc;
  if (!crc32c_ready)
    crc32c_init();
  while (len > 0 && ((uintptr_t)p & 7) != 0) {
    c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    len--;
  }
  while (len >= 8) {  /* bytes in order: independent of the host's endianness */
    uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8
                       | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff]
        ^ crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24]
        ^ crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]]
        ^ crc32c_table[1][p[6]] ^ crc32c_table[0][p[7]];
    p += 8;
    len -= 8;
  }
  while (len > 0) {
    c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    len--;
  }
  return (unsigned long)~c;
}

/* }====================================================== */


/*
** {======================================================
** Digests of a file's byte range, in constant memory
** =======================================================
*/

struct sum_state {
  EVP_MD_CTX *md[3];  /* sha256, sha1, md5 (NULL when not asked) */
};

static void sums_free (struct sum_state *st) {
  int i;
  for (i = 0; i < 3; i++)
    EVP_MD_CTX_free(st->md[i]);
}


static int sums_init (struct sum_state *st, int which) {
  static const int bits[3] = {KUMO_SUM_SHA256, KUMO_SUM_SHA1, KUMO_SUM_MD5};
  const EVP_MD *mds[3];
  int i;
  mds[0] = EVP_sha256();
  mds[1] = EVP_sha1();
  mds[2] = EVP_md5();
  memset(st, 0, sizeof(*st));
  for (i = 0; i < 3; i++) {
    if (!(which & bits[i]))
      continue;
    st->md[i] = EVP_MD_CTX_new();
    if (st->md[i] == NULL || EVP_DigestInit_ex(st->md[i], mds[i], NULL) != 1)
      return -1;
  }
  return 0;
}


static int sums_final (struct sum_state *st, struct kumo_sums *out) {
  unsigned char *dst[3];
  int i;
  dst[0] = out->sha256;
  dst[1] = out->sha1;
  dst[2] = out->md5;
  for (i = 0; i < 3; i++) {
    unsigned int n = 0;
    if (st->md[i] != NULL && EVP_DigestFinal_ex(st->md[i], dst[i], &n) != 1)
      return -1;
  }
  return 0;
}


int kumo_file_sums (const char *path, long long offset, long long length,
                    int which, struct kumo_sums *out) {
  static unsigned char buf[64 * 1024];  /* one thread drives kumo */
  struct sum_state st;
  FILE *f = NULL;
  int rc = -1, i, saved;
  memset(out, 0, sizeof(*out));
  if (offset < 0) {
    errno = EINVAL;
    return -1;
  }
  if (sums_init(&st, which) != 0) {
    errno = ENOMEM;
    goto fail;
  }
  f = fopen(path, "rb");
  if (f == NULL || fseeko(f, (off_t)offset, SEEK_SET) != 0)
    goto fail;
  while (length < 0 || out->size < length) {
    size_t want = sizeof(buf), n;
    if (length >= 0 && (long long)want > length - out->size)
      want = (size_t)(length - out->size);
    n = fread(buf, 1, want, f);
    if (n == 0) {
      if (ferror(f))
        goto fail;
      if (length >= 0) {  /* the range runs past the end of the file */
        errno = ERANGE;
        goto fail;
      }
      break;
    }
    for (i = 0; i < 3; i++)
      if (st.md[i] != NULL && EVP_DigestUpdate(st.md[i], buf, n) != 1) {
        errno = ENOMEM;
        goto fail;
      }
    if (which & KUMO_SUM_CRC32)
      out->crc32 = kumo_crc32_update(out->crc32, buf, n);
    if (which & KUMO_SUM_CRC32C)
      out->crc32c = kumo_crc32c(out->crc32c, buf, n);
    out->size += (long long)n;
  }
  if (sums_final(&st, out) != 0) {
    errno = ENOMEM;
    goto fail;
  }
  rc = 0;
fail:
  saved = errno;
  if (f != NULL)
    fclose(f);
  sums_free(&st);
  errno = saved;
  return rc;
}

/* }====================================================== */


size_t kumo_gzip_bound (size_t len) {
  if (len > (size_t)UINT_MAX)
    return 0;
  return (size_t)compressBound((uLong)len) + 32;  /* 18 bytes of framing */
}


int kumo_gzip (const void *data, size_t len, int level,
               unsigned char *out, size_t *outlen) {
  z_stream zs;
  int rc;
  static const unsigned char empty = 0;
  if (len > (size_t)UINT_MAX)
    return -1;
  memset(&zs, 0, sizeof(zs));
  /* 15 window bits + 16: a gzip header and trailer instead of zlib's */
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  zs.next_in = (Bytef *)(data != NULL ? data : &empty);
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)kumo_gzip_bound(len);
  rc = deflate(&zs, Z_FINISH);
  *outlen = (size_t)zs.total_out;
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? 0 : -1;
}


/* Grow 'buf' to hold at least 'need' bytes (doubling, capped at 'max'). */
static int grow (unsigned char **buf, size_t *cap, size_t need, size_t max) {
  size_t ncap = *cap;
  unsigned char *nb;
  if (need > max)
    return -2;
  while (ncap < need)
    ncap = ncap > max / 2 ? max : ncap * 2;
  nb = (unsigned char *)realloc(*buf, ncap);
  if (nb == NULL)
    return -3;
  *buf = nb;
  *cap = ncap;
  return 0;
}


int kumo_inflate (const void *data, size_t len, size_t max,
                  unsigned char **out, size_t *outlen) {
  z_stream zs;
  unsigned char *buf = NULL;
  size_t cap = 0, used = 0;
  int rc = Z_OK, err = 0;
  *out = NULL;
  *outlen = 0;
  if (len > (size_t)UINT_MAX)
    return -1;
  memset(&zs, 0, sizeof(zs));
  /* 15 window bits + 32: zlib or gzip, whichever header it has */
  if (inflateInit2(&zs, 15 + 32) != Z_OK)
    return -3;
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)len;
  cap = len < 64 ? 256 : len * 4;  /* models compress ~8:1 */
  if (cap > max) cap = max > 0 ? max : 1;
  buf = (unsigned char *)malloc(cap);
  if (buf == NULL) { inflateEnd(&zs); return -3; }
  while (rc != Z_STREAM_END) {
    if (used == cap && (err = grow(&buf, &cap, cap + 1, max)) != 0)
      break;
    zs.next_out = buf + used;
    zs.avail_out = (uInt)(cap - used > UINT_MAX ? UINT_MAX : cap - used);
    rc = inflate(&zs, Z_NO_FLUSH);
    used = (size_t)(zs.next_out - buf);
    if (rc == Z_MEM_ERROR) { err = -3; break; }
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && used == cap)) {
      err = -1;  /* Z_DATA_ERROR, or Z_BUF_ERROR: input ended early */
      break;
    }
  }
  inflateEnd(&zs);
  if (err != 0) {
    free(buf);
    return err;
  }
  *out = buf;
  *outlen = used;
  return 0;
}
