/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo SigV4: AWS Signature Version 4, header and query (presigned) forms.
** Pure C over OpenSSL's SHA-256; no Lua. The stages mirror the spec:
** canonical URI, canonical query, canonical headers, signed headers,
** payload hash, canonical request, string to sign, signing key, signature.
** See include/kumo/sigv4.h for the contract and the ownership rules.
*/

/*
** The low-level SHA-256 API is deprecated in OpenSSL 3, but it is the one
** whose state is a plain struct: HMAC with a cached signing key starts from
** precomputed ipad/opad states by copying them, with no allocation (an
** EVP_MD_CTX copy allocates). That copy is most of the signing speed.
*/
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "kumo/clock.h"
#include "kumo/sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#define KEY_CACHE_SIZE 8     /* signing keys kept per signer */
#define SCOPE_FIELD_MAX 64   /* longer regions/services are not cached */
#define SORT_SMALL 16        /* insertion sort up to this many items */
#define LAST_YEAR_TIME ((int64_t)253402300799)  /* 9999-12-31T23:59:59Z */
#define BUF_KEEP ((size_t)64 << 10)  /* larger buffers are freed on reuse */


/*
** {======================================================
** Character classes and small helpers
** =======================================================
*/

/* Byte classes, as one table: the hot loops look each byte up once. */
#define C_UNRESERVED 0x1  /* A-Z a-z 0-9 - _ . ~ : never percent-encoded */
#define C_TCHAR 0x2       /* RFC 9110 token: header names, methods */
#define C_SPACE 0x4       /* white space squeezed in header values */
#define C_SCOPE_BAD 0x8   /* not allowed in a region, service or key id */

#define UT (C_UNRESERVED | C_TCHAR)
#define UT10(a) [a] = UT, [a + 1] = UT, [a + 2] = UT, [a + 3] = UT, \
  [a + 4] = UT, [a + 5] = UT, [a + 6] = UT, [a + 7] = UT, [a + 8] = UT, \
  [a + 9] = UT
#define UT6(a) [a] = UT, [a + 1] = UT, [a + 2] = UT, [a + 3] = UT, \
  [a + 4] = UT, [a + 5] = UT
#define CTL8(a) [a] = C_SCOPE_BAD, [a + 1] = C_SCOPE_BAD, \
  [a + 2] = C_SCOPE_BAD, [a + 3] = C_SCOPE_BAD, [a + 4] = C_SCOPE_BAD, \
  [a + 5] = C_SCOPE_BAD, [a + 6] = C_SCOPE_BAD, [a + 7] = C_SCOPE_BAD

static const unsigned char byte_class[256] = {
  CTL8(0x00), CTL8(0x10), CTL8(0x18),
  [0x08] = C_SCOPE_BAD,
  ['\t'] = C_SPACE | C_SCOPE_BAD, ['\n'] = C_SPACE | C_SCOPE_BAD,
  ['\v'] = C_SPACE | C_SCOPE_BAD, ['\f'] = C_SPACE | C_SCOPE_BAD,
  ['\r'] = C_SPACE | C_SCOPE_BAD, [0x0e] = C_SCOPE_BAD,
  [0x0f] = C_SCOPE_BAD, [0x7f] = C_SCOPE_BAD,
  [' '] = C_SPACE | C_SCOPE_BAD, ['/'] = C_SCOPE_BAD,
  ['!'] = C_TCHAR, ['#'] = C_TCHAR, ['$'] = C_TCHAR, ['%'] = C_TCHAR,
  ['&'] = C_TCHAR, ['\''] = C_TCHAR, ['*'] = C_TCHAR, ['+'] = C_TCHAR,
  ['^'] = C_TCHAR, ['`'] = C_TCHAR, ['|'] = C_TCHAR,
  ['-'] = UT, ['.'] = UT, ['_'] = UT, ['~'] = UT,
  UT10('0'), UT10('A'), UT10('A' + 10), UT6('A' + 20),
  UT10('a'), UT10('a' + 10), UT6('a' + 20),
};

#undef UT10
#undef UT6
#undef CTL8
#undef UT

static int is_unreserved (unsigned char c) {
  return (byte_class[c] & C_UNRESERVED) != 0;
}

static int is_tchar (unsigned char c) {
  return (byte_class[c] & C_TCHAR) != 0;
}

static int is_space (unsigned char c) {
  return (byte_class[c] & C_SPACE) != 0;
}

static int hex_value (unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static const char hexdigits_upper[] = "0123456789ABCDEF";

/* 32 raw bytes to 64 lower-case hex digits and a NUL, a pair at a time. */
static void hex32 (char out[65], const unsigned char in[32]) {
  static const char pairs[513] =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
  "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
  "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
  "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
  "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
  int i;
  for (i = 0; i < 32; i++)
    memcpy(out + 2 * i, pairs + 2 * in[i], 2);
  out[64] = '\0';
}


/* Percent-encode one byte into 'd' (3 bytes). */
static char *pct (char *d, unsigned char c) {
  d[0] = '%';
  d[1] = hexdigits_upper[c >> 4];
  d[2] = hexdigits_upper[c & 0xf];
  return d + 3;
}

/* }====================================================== */


/*
** {======================================================
** Capped buffers
** =======================================================
*/

void kumo_sigv4_buf_init (struct kumo_sigv4_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}


void kumo_sigv4_buf_free (struct kumo_sigv4_buf *b) {
  if (b->data != NULL) {
    OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
  }
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}


/*
** Grow to hold 'need' bytes. Copies by hand so the old block is wiped
** before it is freed (it may hold a token).
*/
static int buf_grow (struct kumo_sigv4_buf *b, size_t need) {
  size_t cap;
  char *p;
  cap = b->cap != 0 ? b->cap : 256;
  while (cap < need)
    cap = (cap > ((size_t)-1) / 2) ? need : cap * 2;
  p = malloc(cap);
  if (p == NULL)
    return KUMO_SIGV4_ENOMEM;
  if (b->data != NULL) {
    memcpy(p, b->data, b->len);
    OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
  }
  b->data = p;
  b->cap = cap;
  return KUMO_SIGV4_OK;
}


/* Make room for 'extra' more bytes plus a NUL, within the cap. */
static int buf_reserve (struct kumo_sigv4_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra)
    return KUMO_SIGV4_TOO_BIG;
  if (b->cap - b->len > extra)  /* the common case: room already */
    return KUMO_SIGV4_OK;
  return buf_grow(b, b->len + extra + 1);
}


static int buf_add (struct kumo_sigv4_buf *b, const void *p, size_t n) {
  int rc = buf_reserve(b, n);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return KUMO_SIGV4_OK;
}


static int buf_addc (struct kumo_sigv4_buf *b, char c) {
  int rc = buf_reserve(b, 1);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  b->data[b->len++] = c;
  return KUMO_SIGV4_OK;
}

#define buf_addlit(b, s) buf_add((b), (s), sizeof(s) - 1)


/* NUL-terminate (room for it is always reserved) and return the text. */
static const char *buf_cstr (struct kumo_sigv4_buf *b) {
  if (b->data == NULL && buf_reserve(b, 0) != KUMO_SIGV4_OK)
    return "";
  b->data[b->len] = '\0';
  return b->data;
}

/* }====================================================== */


/*
** {======================================================
** SHA-256 and HMAC
** =======================================================
*/

/*
** HMAC-SHA256 pads for the key k1 || k2 (two parts so that "AWS4" and the
** secret need no temporary copy): 'inner' and 'outer' have absorbed
** key^ipad and key^opad.
*/
static void hmac_pads (SHA256_CTX *inner, SHA256_CTX *outer,
                       const void *k1, size_t l1,
                       const void *k2, size_t l2) {
  unsigned char block[SHA256_CBLOCK], pad[SHA256_CBLOCK];
  int i;
  memset(block, 0, sizeof(block));
  if (l1 + l2 > SHA256_CBLOCK) {  /* long keys are hashed first */
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, k1, l1);
    SHA256_Update(&c, k2, l2);
    SHA256_Final(block, &c);
    OPENSSL_cleanse(&c, sizeof(c));
  }
  else {
    if (l1 > 0) memcpy(block, k1, l1);
    if (l2 > 0) memcpy(block + l1, k2, l2);
  }
  for (i = 0; i < SHA256_CBLOCK; i++)
    pad[i] = block[i] ^ 0x36;
  SHA256_Init(inner);
  SHA256_Update(inner, pad, sizeof(pad));
  for (i = 0; i < SHA256_CBLOCK; i++)
    pad[i] = block[i] ^ 0x5c;
  SHA256_Init(outer);
  SHA256_Update(outer, pad, sizeof(pad));
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
}


/* HMAC of 'msg' from precomputed pads; the pads are left untouched. */
static void hmac_final (const SHA256_CTX *inner, const SHA256_CTX *outer,
                        const void *msg, size_t n,
                        unsigned char out[SHA256_DIGEST_LENGTH]) {
  SHA256_CTX c = *inner;
  SHA256_Update(&c, msg, n);
  SHA256_Final(out, &c);
  c = *outer;
  SHA256_Update(&c, out, SHA256_DIGEST_LENGTH);
  SHA256_Final(out, &c);
  OPENSSL_cleanse(&c, sizeof(c));
}


/* SHA-256 through the low-level API: OpenSSL 3's one-shot SHA256() goes
** through EVP and fetches the algorithm (locks, allocation) every call. */
static void sha256 (const void *p, size_t n,
                    unsigned char out[SHA256_DIGEST_LENGTH]) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, p, n);
  SHA256_Final(out, &c);
}


/* out = HMAC(k1 || k2, msg). */
static void hmac (const void *k1, size_t l1, const void *k2, size_t l2,
                  const void *msg, size_t n,
                  unsigned char out[SHA256_DIGEST_LENGTH]) {
  SHA256_CTX inner, outer;
  hmac_pads(&inner, &outer, k1, l1, k2, l2);
  hmac_final(&inner, &outer, msg, n, out);
  OPENSSL_cleanse(&inner, sizeof(inner));
  OPENSSL_cleanse(&outer, sizeof(outer));
}


void kumo_sigv4_signing_key (unsigned char key[32], const char *secret,
                             size_t secret_len, const char date[8],
                             const char *region, size_t region_len,
                             const char *service, size_t service_len) {
  unsigned char k[SHA256_DIGEST_LENGTH];
  hmac("AWS4", 4, secret, secret_len, date, 8, k);        /* kDate */
  hmac(k, sizeof(k), NULL, 0, region, region_len, k);     /* kRegion */
  hmac(k, sizeof(k), NULL, 0, service, service_len, k);   /* kService */
  hmac(k, sizeof(k), NULL, 0, TERMINATOR, sizeof(TERMINATOR) - 1, key);
  OPENSSL_cleanse(k, sizeof(k));
}

/* }====================================================== */


/*
** {======================================================
** Signer state
** =======================================================
*/

/* One cached signing key, kept as its HMAC pads. */
struct key_entry {
  int used;
  unsigned char secret_hash[SHA256_DIGEST_LENGTH];
  char date[8];
  size_t region_len;
  size_t service_len;
  char region[SCOPE_FIELD_MAX];
  char service[SCOPE_FIELD_MAX];
  SHA256_CTX inner;
  SHA256_CTX outer;
};

/* One header to sign: lower-case name, raw value, position for ties. */
struct hdr {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
  size_t order;
};

/* One query parameter, encoded; offsets while 'enc' may still move. */
struct qparam {
  size_t koff, klen, voff, vlen;
  const char *k;
  const char *v;
};

struct qvec {
  struct qparam *v;
  size_t n;
  size_t cap;
};

struct kumo_sigv4_signer {
  struct kumo_sigv4_buf cr;       /* canonical request */
  struct kumo_sigv4_buf sts;      /* string to sign */
  struct kumo_sigv4_buf sh;       /* signed headers */
  struct kumo_sigv4_buf scope;    /* date/region/service/aws4_request */
  struct kumo_sigv4_buf auth;     /* Authorization value */
  struct kumo_sigv4_buf url;      /* presigned URL */
  struct kumo_sigv4_buf names;    /* lower-cased header names */
  struct kumo_sigv4_buf enc;      /* encoded query keys and values */
  struct kumo_sigv4_buf host;     /* Host from the URL */
  struct kumo_sigv4_buf scratch;  /* trimmed x-amz-content-sha256 */
  struct hdr *hdrs;
  size_t hdrs_cap;
  struct qvec query;
  size_t err_index;
  int64_t date_time;              /* the time amz_date holds... */
  int date_cached;                /* ...when this is set */
  char amz_date[17];
  char payload_hex[65];
  char signature[65];
  unsigned key_next;
  struct key_entry keys[KEY_CACHE_SIZE];
  struct key_entry uncached;      /* for over-long regions/services */
};


struct kumo_sigv4_signer *kumo_sigv4_signer_new (void) {
  struct kumo_sigv4_signer *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  kumo_sigv4_buf_init(&s->cr, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->sts, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->sh, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->scope, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->auth, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->url, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->names, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->enc, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->host, KUMO_SIGV4_MAX_SIZE);
  kumo_sigv4_buf_init(&s->scratch, KUMO_SIGV4_MAX_SIZE);
  return s;
}


void kumo_sigv4_signer_free (struct kumo_sigv4_signer *s) {
  if (s == NULL)
    return;
  kumo_sigv4_buf_free(&s->cr);
  kumo_sigv4_buf_free(&s->sts);
  kumo_sigv4_buf_free(&s->sh);
  kumo_sigv4_buf_free(&s->scope);
  kumo_sigv4_buf_free(&s->auth);
  kumo_sigv4_buf_free(&s->url);
  kumo_sigv4_buf_free(&s->names);
  kumo_sigv4_buf_free(&s->enc);
  kumo_sigv4_buf_free(&s->host);
  kumo_sigv4_buf_free(&s->scratch);
  free(s->hdrs);
  free(s->query.v);
  OPENSSL_cleanse(s, sizeof(*s));  /* key cache and signature */
  free(s);
}


/*
** Called before each signature: a buffer that one large request grew past
** BUF_KEEP is released (wiped), so a long-lived signer stays small.
*/
static void signer_shrink (struct kumo_sigv4_signer *s) {
  struct kumo_sigv4_buf *all[10];
  size_t i;
  all[0] = &s->cr; all[1] = &s->sts; all[2] = &s->sh; all[3] = &s->scope;
  all[4] = &s->auth; all[5] = &s->url; all[6] = &s->names; all[7] = &s->enc;
  all[8] = &s->host; all[9] = &s->scratch;
  for (i = 0; i < 10; i++) {
    if (all[i]->cap > BUF_KEEP)
      kumo_sigv4_buf_free(all[i]);
  }
}


size_t kumo_sigv4_error_index (const struct kumo_sigv4_signer *s) {
  return s->err_index;
}


const char *kumo_sigv4_strerror (int code) {
  static const char *const msgs[KUMO_SIGV4_NCODES] = {
    "ok",
    "out of memory",
    "request too large to sign (canonical form over 16 MiB)",
    "method must be a non-empty HTTP token such as GET",
    "url must be scheme://host[:port][/path][?query]",
    "header name must be a non-empty HTTP token (letters, digits, -_.)",
    "X-Amz-Date header must be YYYYMMDDTHHMMSSZ",
    "time must be unix seconds within years 1970..9999",
    "expires must be 1..604800 seconds",
    "region must be non-empty, without '/', spaces or control characters",
    "service must be non-empty, without '/', spaces or control characters",
    "access key id must be non-empty, without '/', ',', spaces or controls",
    "secret access key must be non-empty",
    "body is NULL but body_len is not 0",
  };
  if (code < 0 || code >= KUMO_SIGV4_NCODES)
    return "unknown sigv4 error";
  return msgs[code];
}

/* }====================================================== */


/*
** {======================================================
** Canonical URI
** =======================================================
*/

/* Encode 'seg' byte by byte, keeping only unreserved characters. */
static int encode_all (struct kumo_sigv4_buf *out, const char *seg,
                       size_t n) {
  char *d;
  size_t i;
  int rc = buf_reserve(out, 3 * n);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  d = out->data + out->len;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)seg[i];
    if (is_unreserved(c))
      *d++ = (char)c;
    else
      d = pct(d, c);
  }
  out->len = (size_t)(d - out->data);
  return KUMO_SIGV4_OK;
}


/*
** Non-S3: segments normalised like RFC 3986 remove_dot_segments plus
** dropping empty ones (as botocore and aws-c-auth do), then every segment
** encoded again. Written straight into 'out'; a '..' truncates 'out' back
** to its last '/', which is always a separator since segments are encoded.
*/
static int uri_normalized (struct kumo_sigv4_buf *out, const char *path,
                           size_t len) {
  size_t start = out->len, i = 0;
  int rc;
  while (i < len) {
    size_t j = i;
    while (j < len && path[j] != '/')
      j++;
    if (j == i || (j - i == 1 && path[i] == '.'))
      ;  /* empty or '.': dropped */
    else if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
      while (out->len > start && out->data[out->len - 1] != '/')
        out->len--;
      if (out->len > start)
        out->len--;  /* the '/' before the dropped segment */
    }
    else {
      rc = buf_addc(out, '/');
      if (rc == KUMO_SIGV4_OK)
        rc = encode_all(out, path + i, j - i);
      if (rc != KUMO_SIGV4_OK)
        return rc;
    }
    i = j + 1;
  }
  if (out->len == start)
    return buf_addc(out, '/');
  if (len > 0 && path[len - 1] == '/')
    return buf_addc(out, '/');
  return KUMO_SIGV4_OK;
}


/* S3: the path as sent, valid %XX escapes kept, other bytes encoded once. */
static int uri_raw (struct kumo_sigv4_buf *out, const char *path,
                    size_t len) {
  char *d;
  size_t i;
  int rc;
  if (len == 0)
    return buf_addc(out, '/');
  rc = buf_reserve(out, 3 * len);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  d = out->data + out->len;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)path[i];
    if (is_unreserved(c) || c == '/')
      *d++ = (char)c;
    else if (c == '%' && i + 2 < len && hex_value(path[i + 1]) >= 0 &&
             hex_value(path[i + 2]) >= 0) {
      memcpy(d, path + i, 3);
      d += 3;
      i += 2;
    }
    else
      d = pct(d, c);
  }
  out->len = (size_t)(d - out->data);
  return KUMO_SIGV4_OK;
}


int kumo_sigv4_canonical_uri (struct kumo_sigv4_buf *out, const char *path,
                              size_t len, int normalize) {
  size_t mark = out->len;
  int rc = normalize ? uri_normalized(out, path, len)
                     : uri_raw(out, path, len);
  if (rc != KUMO_SIGV4_OK)
    out->len = mark;
  return rc;
}

/* }====================================================== */


/*
** {======================================================
** Canonical query
** =======================================================
*/

/* Decode %XX escapes of 'src' then encode with the SigV4 rules into 'd'
** (which has room for 3n bytes); returns the end. */
static char *encode_component (char *d, const char *src, size_t n,
                               int decode) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (decode && c == '%' && i + 2 < n && hex_value(src[i + 1]) >= 0 &&
        hex_value(src[i + 2]) >= 0) {
      c = (unsigned char)(hex_value(src[i + 1]) * 16 + hex_value(src[i + 2]));
      i += 2;
    }
    if (is_unreserved(c))
      *d++ = (char)c;
    else
      d = pct(d, c);
  }
  return d;
}


/* Append one parameter (encoding key and value) to 'q'. */
static int query_add (struct kumo_sigv4_buf *enc, struct qvec *q,
                      const char *k, size_t kl, const char *v, size_t vl,
                      int decode) {
  struct qparam *p;
  char *d;
  int rc;
  if (kl > KUMO_SIGV4_MAX_SIZE || vl > KUMO_SIGV4_MAX_SIZE)
    return KUMO_SIGV4_TOO_BIG;
  rc = buf_reserve(enc, 3 * (kl + vl));
  if (rc != KUMO_SIGV4_OK)
    return rc;
  if (q->n == q->cap) {
    size_t cap = q->cap != 0 ? 2 * q->cap : 16;
    struct qparam *nv;
    if (cap > KUMO_SIGV4_MAX_SIZE / sizeof(*nv))
      return KUMO_SIGV4_TOO_BIG;
    nv = realloc(q->v, cap * sizeof(*nv));
    if (nv == NULL)
      return KUMO_SIGV4_ENOMEM;
    q->v = nv;
    q->cap = cap;
  }
  p = &q->v[q->n++];
  p->koff = enc->len;
  d = encode_component(enc->data + enc->len, k, kl, decode);
  p->klen = (size_t)(d - (enc->data + p->koff));
  p->voff = p->koff + p->klen;
  d = encode_component(d, v, vl, decode);
  p->vlen = (size_t)(d - (enc->data + p->voff));
  enc->len = p->voff + p->vlen;
  return KUMO_SIGV4_OK;
}


/* Parse a raw query ("a=1&b&c=x=y") into 'q'. 'skip_auth' drops the
** X-Amz-* parameters a presign adds itself. Empty pieces are ignored. */
static int query_parse (struct kumo_sigv4_buf *enc, struct qvec *q,
                        const char *query, size_t len, int skip_auth) {
  size_t i = 0;
  while (i < len) {
    size_t j = i, eq;
    int rc;
    while (j < len && query[j] != '&')
      j++;
    eq = i;
    while (eq < j && query[eq] != '=')
      eq++;
    if (j > i) {
      size_t before = q->n;
      rc = query_add(enc, q, query + i, eq - i,
                     query + (eq < j ? eq + 1 : j), eq < j ? j - eq - 1 : 0,
                     1);
      if (rc != KUMO_SIGV4_OK)
        return rc;
      if (skip_auth) {
        struct qparam *p = &q->v[before];
        const char *k = enc->data + p->koff;
        static const char *const auth[] = {
          "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
          "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
          "X-Amz-Security-Token", NULL
        };
        int a;
        for (a = 0; auth[a] != NULL; a++) {
          if (p->klen == strlen(auth[a]) && memcmp(k, auth[a], p->klen) == 0) {
            q->n = before;
            enc->len = p->koff;
            break;
          }
        }
      }
    }
    i = j + 1;
  }
  return KUMO_SIGV4_OK;
}


static int qparam_cmp (const struct qparam *a, const struct qparam *b) {
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int c = memcmp(a->k, b->k, n);
  if (c != 0)
    return c;
  if (a->klen != b->klen)
    return a->klen < b->klen ? -1 : 1;
  n = a->vlen < b->vlen ? a->vlen : b->vlen;
  c = memcmp(a->v, b->v, n);
  if (c != 0)
    return c;
  return (a->vlen > b->vlen) - (a->vlen < b->vlen);
}

static int qparam_qcmp (const void *a, const void *b) {
  return qparam_cmp((const struct qparam *)a, (const struct qparam *)b);
}


/* Sort 'q' (pointers fixed up now that 'enc' no longer moves) and append
** "k=v&k=v" to 'out'. */
static int query_emit (struct kumo_sigv4_buf *out,
                       const struct kumo_sigv4_buf *enc, struct qvec *q) {
  size_t i, total = 0;
  char *d;
  int rc;
  for (i = 0; i < q->n; i++) {
    q->v[i].k = enc->data + q->v[i].koff;
    q->v[i].v = enc->data + q->v[i].voff;
    total += q->v[i].klen + q->v[i].vlen + 2;
  }
  if (q->n <= SORT_SMALL) {
    for (i = 1; i < q->n; i++) {
      struct qparam t = q->v[i];
      size_t j = i;
      while (j > 0 && qparam_cmp(&q->v[j - 1], &t) > 0) {
        q->v[j] = q->v[j - 1];
        j--;
      }
      q->v[j] = t;
    }
  }
  else
    qsort(q->v, q->n, sizeof(q->v[0]), qparam_qcmp);
  rc = buf_reserve(out, total);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  d = out->data + out->len;
  for (i = 0; i < q->n; i++) {
    if (i > 0)
      *d++ = '&';
    memcpy(d, q->v[i].k, q->v[i].klen);
    d += q->v[i].klen;
    *d++ = '=';
    memcpy(d, q->v[i].v, q->v[i].vlen);
    d += q->v[i].vlen;
  }
  out->len = (size_t)(d - out->data);
  return KUMO_SIGV4_OK;
}


int kumo_sigv4_canonical_query (struct kumo_sigv4_buf *out,
                                const char *query, size_t len) {
  struct kumo_sigv4_buf enc;
  struct qvec q = {NULL, 0, 0};
  int rc;
  kumo_sigv4_buf_init(&enc, out->max);
  rc = query_parse(&enc, &q, query, len, 0);
  if (rc == KUMO_SIGV4_OK)
    rc = query_emit(out, &enc, &q);
  kumo_sigv4_buf_free(&enc);
  free(q.v);
  return rc;
}

/* }====================================================== */


/*
** {======================================================
** Header values, dates, URLs
** =======================================================
*/

/* Append the trimmed value without the reserve check ('d' has room): runs
** of non-space bytes are copied whole, each run of white space becomes one
** space between them. */
static char *trimall_to (char *d, const char *v, size_t n) {
  const char *end = v + n;
  int first = 1;
  for (;;) {
    const char *run;
    while (v < end && is_space((unsigned char)*v))
      v++;
    if (v == end)
      return d;
    run = v;
    while (v < end && !is_space((unsigned char)*v))
      v++;
    if (!first)
      *d++ = ' ';
    first = 0;
    memcpy(d, run, (size_t)(v - run));
    d += v - run;
  }
}


int kumo_sigv4_trimall (struct kumo_sigv4_buf *out, const char *value,
                        size_t len) {
  int rc = buf_reserve(out, len);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  out->len = (size_t)(trimall_to(out->data + out->len, value, len) -
                      out->data);
  return KUMO_SIGV4_OK;
}


/* X-Amz-Date of unix seconds, by kumo clock's formatter: the calendar is
** worked out in one place (clock.c). */
int kumo_sigv4_amz_date (char out[17], int64_t t) {
  char buf[KUMO_TIME_BUFSIZE];
  if (t < 0 || t > LAST_YEAR_TIME)
    return KUMO_SIGV4_BAD_TIME;
  if (kumo_clock_format((double)t, KUMO_TIME_AMZ_DATE, 0, buf) != 16)
    return KUMO_SIGV4_BAD_TIME;
  memcpy(out, buf, 17);
  return KUMO_SIGV4_OK;
}


/* A carried X-Amz-Date value (trimmed) must be YYYYMMDDTHHMMSSZ. */
static int parse_amz_date (char out[17], const char *v, size_t n) {
  size_t i;
  while (n > 0 && is_space((unsigned char)*v)) {
    v++;
    n--;
  }
  while (n > 0 && is_space((unsigned char)v[n - 1]))
    n--;
  if (n != 16 || v[8] != 'T' || v[15] != 'Z')
    return KUMO_SIGV4_BAD_DATE;
  for (i = 0; i < 15; i++) {
    if (i != 8 && (v[i] < '0' || v[i] > '9'))
      return KUMO_SIGV4_BAD_DATE;
  }
  memcpy(out, v, 16);
  out[16] = '\0';
  return KUMO_SIGV4_OK;
}


/* The parts of a URL the signer needs (spans into the caller's text). */
struct url_parts {
  const char *scheme;
  size_t scheme_len;
  const char *authority;        /* as written, userinfo included */
  size_t authority_len;
  const char *host;             /* without userinfo and port */
  size_t host_len;
  const char *port;             /* NULL when absent */
  size_t port_len;
  const char *path;             /* from the first '/', may be empty */
  size_t path_len;
  const char *query;            /* after '?', NULL when absent */
  size_t query_len;
};


static int parse_url (struct url_parts *u, const char *url, size_t len) {
  const char *p, *end = url + len, *a, *h, *hend;
  size_t i;
  for (i = 0; i + 2 < len; i++) {
    if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/')
      break;
  }
  if (i == 0 || i + 2 >= len)
    return KUMO_SIGV4_BAD_URL;
  for (p = url; p < url + i; p++) {  /* RFC 3986 scheme */
    unsigned char c = (unsigned char)*p;
    if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
        (p == url || !((c >= '0' && c <= '9') || c == '+' || c == '-' ||
                       c == '.')))
      return KUMO_SIGV4_BAD_URL;
  }
  u->scheme = url;
  u->scheme_len = i;
  p = url + i + 3;
  a = p;
  while (p < end && *p != '/' && *p != '?' && *p != '#')
    p++;
  u->authority = a;
  u->authority_len = (size_t)(p - a);
  h = a;
  for (hend = a; hend < p; hend++) {  /* userinfo ends at the last '@' */
    if (*hend == '@')
      h = hend + 1;
  }
  if (h < p && *h == '[') {  /* IPv6 literal */
    hend = h;
    while (hend < p && *hend != ']')
      hend++;
    if (hend == p)
      return KUMO_SIGV4_BAD_URL;
    hend++;
  }
  else {
    hend = h;
    while (hend < p && *hend != ':')
      hend++;
  }
  u->host = h;
  u->host_len = (size_t)(hend - h);
  u->port = NULL;
  u->port_len = 0;
  if (hend < p) {
    if (*hend != ':')
      return KUMO_SIGV4_BAD_URL;
    u->port = hend + 1;
    u->port_len = (size_t)(p - hend - 1);
    for (i = 0; i < u->port_len; i++) {
      if (u->port[i] < '0' || u->port[i] > '9')
        return KUMO_SIGV4_BAD_URL;
    }
  }
  if (u->host_len == 0)
    return KUMO_SIGV4_BAD_URL;
  for (i = 0; i < u->host_len; i++) {
    unsigned char c = (unsigned char)u->host[i];
    if (c <= ' ' || c == 0x7f)
      return KUMO_SIGV4_BAD_URL;
  }
  u->path = p;
  while (p < end && *p != '?' && *p != '#')
    p++;
  u->path_len = (size_t)(p - u->path);
  u->query = NULL;
  u->query_len = 0;
  if (p < end && *p == '?') {
    u->query = ++p;
    while (p < end && *p != '#')
      p++;
    u->query_len = (size_t)(p - u->query);
  }
  return KUMO_SIGV4_OK;
}


static int ieq (const char *a, size_t n, const char *lit) {
  size_t i;
  if (strlen(lit) != n)
    return 0;
  for (i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != lit[i])
      return 0;
  }
  return 1;
}


/* Host header value from the URL: lower case, port unless the default. */
static int host_from_url (struct kumo_sigv4_buf *out,
                          const struct url_parts *u) {
  size_t i;
  int rc;
  out->len = 0;
  rc = buf_reserve(out, u->host_len + 1 + u->port_len);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  for (i = 0; i < u->host_len; i++) {
    char c = u->host[i];
    out->data[out->len++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a')
                                                   : c;
  }
  if (u->port != NULL && u->port_len > 0 &&
      !(ieq(u->scheme, u->scheme_len, "http") &&
        u->port_len == 2 && memcmp(u->port, "80", 2) == 0) &&
      !(ieq(u->scheme, u->scheme_len, "https") &&
        u->port_len == 3 && memcmp(u->port, "443", 3) == 0)) {
    out->data[out->len++] = ':';
    memcpy(out->data + out->len, u->port, u->port_len);
    out->len += u->port_len;
  }
  return KUMO_SIGV4_OK;
}

/* }====================================================== */


/*
** {======================================================
** Canonical headers
** =======================================================
*/

enum hkind { H_OTHER, H_SKIP, H_HOST, H_DATE, H_TOKEN, H_SHA256 };

#define LIT_EQ(p, n, lit) \
  ((n) == sizeof(lit) - 1 && memcmp((p), (lit), (n)) == 0)

/* What a lower-case header name means to the signer. */
static enum hkind classify (const char *n, size_t len) {
  switch (len) {
    case 2:
      return LIT_EQ(n, len, "te") ? H_SKIP : H_OTHER;
    case 4:
      return LIT_EQ(n, len, "host") ? H_HOST : H_OTHER;
    case 6:
      return LIT_EQ(n, len, "expect") ? H_SKIP : H_OTHER;
    case 7:
      return (LIT_EQ(n, len, "trailer") || LIT_EQ(n, len, "upgrade"))
             ? H_SKIP : H_OTHER;
    case 10:
      if (LIT_EQ(n, len, "x-amz-date"))
        return H_DATE;
      return (LIT_EQ(n, len, "connection") ||
              LIT_EQ(n, len, "keep-alive") ||
              LIT_EQ(n, len, "user-agent")) ? H_SKIP : H_OTHER;
    case 13:
      return LIT_EQ(n, len, "authorization") ? H_SKIP : H_OTHER;
    case 15:
      return LIT_EQ(n, len, "x-amzn-trace-id") ? H_SKIP : H_OTHER;
    case 17:
      return LIT_EQ(n, len, "transfer-encoding") ? H_SKIP : H_OTHER;
    case 18:
      return LIT_EQ(n, len, "proxy-authenticate") ? H_SKIP : H_OTHER;
    case 19:
      return LIT_EQ(n, len, "proxy-authorization") ? H_SKIP : H_OTHER;
    case 20:
      if (LIT_EQ(n, len, "x-amz-security-token"))
        return H_TOKEN;
      return LIT_EQ(n, len, "x-amz-content-sha256") ? H_SHA256 : H_OTHER;
    default:
      return H_OTHER;
  }
}


static int hdr_cmp (const struct hdr *a, const struct hdr *b) {
  size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  int c = memcmp(a->name, b->name, n);
  if (c != 0)
    return c;
  if (a->name_len != b->name_len)
    return a->name_len < b->name_len ? -1 : 1;
  return (a->order > b->order) - (a->order < b->order);
}

static int hdr_qcmp (const void *a, const void *b) {
  return hdr_cmp((const struct hdr *)a, (const struct hdr *)b);
}


static void sort_hdrs (struct hdr *h, size_t n) {
  size_t i;
  if (n > SORT_SMALL) {
    qsort(h, n, sizeof(h[0]), hdr_qcmp);
    return;
  }
  for (i = 1; i < n; i++) {
    struct hdr t = h[i];
    size_t j = i;
    while (j > 0 && hdr_cmp(&h[j - 1], &t) > 0) {
      h[j] = h[j - 1];
      j--;
    }
    h[j] = t;
  }
}


/* What the request already carries. */
struct carried {
  const struct kumo_sigv4_header *date;
  const struct kumo_sigv4_header *sha256;
  int host;
  int token;
};


/*
** Lower-case and check the request's header names into s->names and list
** the ones to sign in s->hdrs (room is left for four more).
*/
static int collect_headers (struct kumo_sigv4_signer *s,
                            const struct kumo_sigv4_request *req,
                            int presign, struct carried *c, size_t *nout) {
  size_t i, total = 0, n = 0;
  int rc;
  memset(c, 0, sizeof(*c));
  if (req->nheaders > KUMO_SIGV4_MAX_SIZE)
    return KUMO_SIGV4_TOO_BIG;
  for (i = 0; i < req->nheaders; i++) {
    if (req->headers[i].name_len > KUMO_SIGV4_MAX_SIZE - total)
      return KUMO_SIGV4_TOO_BIG;
    total += req->headers[i].name_len;
  }
  s->names.len = 0;
  rc = buf_reserve(&s->names, total);  /* names never move after this */
  if (rc != KUMO_SIGV4_OK)
    return rc;
  if (s->hdrs_cap < req->nheaders + 4) {
    size_t cap = req->nheaders + 4 < 16 ? 16 : req->nheaders + 4;
    struct hdr *nh;
    if (cap > KUMO_SIGV4_MAX_SIZE / sizeof(*nh))
      return KUMO_SIGV4_TOO_BIG;
    nh = realloc(s->hdrs, cap * sizeof(*nh));
    if (nh == NULL)
      return KUMO_SIGV4_ENOMEM;
    s->hdrs = nh;
    s->hdrs_cap = cap;
  }
  for (i = 0; i < req->nheaders; i++) {
    const struct kumo_sigv4_header *h = &req->headers[i];
    char *lower = s->names.data + s->names.len;
    size_t j;
    enum hkind kind;
    if (h->name_len == 0) {
      s->err_index = i;
      return KUMO_SIGV4_BAD_HEADER;
    }
    for (j = 0; j < h->name_len; j++) {
      unsigned char ch = (unsigned char)h->name[j];
      if (!is_tchar(ch)) {
        s->err_index = i;
        return KUMO_SIGV4_BAD_HEADER;
      }
      lower[j] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
    }
    s->names.len += h->name_len;
    kind = classify(lower, h->name_len);
    if (kind == H_SKIP)
      continue;
    if (kind == H_DATE) {
      if (c->date == NULL)
        c->date = h;
      if (presign)  /* the date travels in the query */
        continue;
    }
    else if (kind == H_HOST)
      c->host = 1;
    else if (kind == H_TOKEN)
      c->token = 1;
    else if (kind == H_SHA256 && c->sha256 == NULL)
      c->sha256 = h;
    s->hdrs[n].name = lower;
    s->hdrs[n].name_len = h->name_len;
    s->hdrs[n].value = h->value != NULL ? h->value : "";
    s->hdrs[n].value_len = h->value != NULL ? h->value_len : 0;
    s->hdrs[n].order = i;
    n++;
  }
  *nout = n;
  return KUMO_SIGV4_OK;
}


static void push_hdr (struct kumo_sigv4_signer *s, size_t *n,
                      const char *name, const char *value, size_t vlen,
                      size_t order) {
  struct hdr *h = &s->hdrs[(*n)++];
  h->name = name;
  h->name_len = strlen(name);
  h->value = value;
  h->value_len = vlen;
  h->order = order;
}


/* Signed headers: the distinct names of the sorted list, joined by ';'. */
static int signed_headers (struct kumo_sigv4_signer *s, size_t n) {
  size_t i, total = 0;
  char *e;
  int rc;
  for (i = 0; i < n; i++)
    total += s->hdrs[i].name_len + 1;
  s->sh.len = 0;
  rc = buf_reserve(&s->sh, total);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  e = s->sh.data;
  for (i = 0; i < n; i++) {
    const struct hdr *h = &s->hdrs[i];
    if (i > 0 && h->name_len == s->hdrs[i - 1].name_len &&
        memcmp(h->name, s->hdrs[i - 1].name, h->name_len) == 0)
      continue;
    if (i > 0)
      *e++ = ';';
    memcpy(e, h->name, h->name_len);
    e += h->name_len;
  }
  s->sh.len = (size_t)(e - s->sh.data);
  buf_cstr(&s->sh);
  return KUMO_SIGV4_OK;
}


/* Canonical headers: "name:v1,v2\n" per distinct name, values trimmed. */
static int canonical_headers (struct kumo_sigv4_signer *s, size_t n) {
  size_t i, total = 0;
  char *d;
  int rc;
  for (i = 0; i < n; i++) {
    if (s->hdrs[i].value_len > KUMO_SIGV4_MAX_SIZE)
      return KUMO_SIGV4_TOO_BIG;
    total += s->hdrs[i].name_len + s->hdrs[i].value_len + 2;
  }
  rc = buf_reserve(&s->cr, total);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  d = s->cr.data + s->cr.len;
  for (i = 0; i < n; i++) {
    const struct hdr *h = &s->hdrs[i];
    if (i > 0 && h->name_len == s->hdrs[i - 1].name_len &&
        memcmp(h->name, s->hdrs[i - 1].name, h->name_len) == 0)
      d[-1] = ',';  /* repeated name: its value joins the previous line */
    else {
      memcpy(d, h->name, h->name_len);
      d += h->name_len;
      *d++ = ':';
    }
    d = trimall_to(d, h->value, h->value_len);
    *d++ = '\n';
  }
  s->cr.len = (size_t)(d - s->cr.data);
  return KUMO_SIGV4_OK;
}

/* }====================================================== */


/*
** {======================================================
** Signing key cache, string to sign, signature
** =======================================================
*/

/* A region, service or key id: non-empty, no '/', spaces or controls. */
static int scope_field_ok (const char *p, size_t n, int no_comma) {
  size_t i;
  if (p == NULL || n == 0)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((byte_class[c] & C_SCOPE_BAD) || (no_comma && c == ','))
      return 0;
  }
  return 1;
}


static int check_params (const struct kumo_sigv4_request *req,
                         const struct kumo_sigv4_params *p, int presign) {
  size_t i;
  if (req->method == NULL || req->method_len == 0)
    return KUMO_SIGV4_BAD_METHOD;
  for (i = 0; i < req->method_len; i++) {
    if (!is_tchar((unsigned char)req->method[i]))
      return KUMO_SIGV4_BAD_METHOD;
  }
  if (req->url == NULL)
    return KUMO_SIGV4_BAD_URL;
  if (!scope_field_ok(p->region, p->region_len, 0))
    return KUMO_SIGV4_BAD_REGION;
  if (!scope_field_ok(p->service, p->service_len, 0))
    return KUMO_SIGV4_BAD_SERVICE;
  if (!scope_field_ok(p->access_key_id, p->access_key_id_len, 1))
    return KUMO_SIGV4_BAD_KEY_ID;
  if (p->secret_access_key == NULL || p->secret_access_key_len == 0)
    return KUMO_SIGV4_BAD_SECRET;
  if (presign && (p->expires < 1 || p->expires > KUMO_SIGV4_MAX_EXPIRES))
    return KUMO_SIGV4_BAD_EXPIRES;
  if (req->body == NULL && req->body_len > 0)
    return KUMO_SIGV4_BAD_BODY;
  return KUMO_SIGV4_OK;
}


/*
** The signing key for (secret, date, region, service), as HMAC pads, from
** the cache or derived into it. The cache is keyed by a SHA-256 of the
** secret so the secret itself is never kept.
*/
static const struct key_entry *signing_key (struct kumo_sigv4_signer *s,
                                            const struct kumo_sigv4_params *p,
                                            const char date[8]) {
  unsigned char secret_hash[SHA256_DIGEST_LENGTH], k[SHA256_DIGEST_LENGTH];
  struct key_entry *e;
  unsigned i;
  sha256(p->secret_access_key, p->secret_access_key_len, secret_hash);
  for (i = 0; i < KEY_CACHE_SIZE; i++) {  /* most recent first */
    e = &s->keys[(s->key_next + KEY_CACHE_SIZE - 1 - i) % KEY_CACHE_SIZE];
    if (e->used && memcmp(e->date, date, 8) == 0 &&
        e->region_len == p->region_len && e->service_len == p->service_len &&
        memcmp(e->region, p->region, p->region_len) == 0 &&
        memcmp(e->service, p->service, p->service_len) == 0 &&
        CRYPTO_memcmp(e->secret_hash, secret_hash, sizeof(secret_hash)) == 0) {
      OPENSSL_cleanse(secret_hash, sizeof(secret_hash));
      return e;
    }
  }
  if (p->region_len <= SCOPE_FIELD_MAX && p->service_len <= SCOPE_FIELD_MAX) {
    e = &s->keys[s->key_next];
    s->key_next = (s->key_next + 1) % KEY_CACHE_SIZE;
  }
  else
    e = &s->uncached;
  OPENSSL_cleanse(e, sizeof(*e));
  kumo_sigv4_signing_key(k, p->secret_access_key, p->secret_access_key_len,
                         date, p->region, p->region_len,
                         p->service, p->service_len);
  hmac_pads(&e->inner, &e->outer, k, sizeof(k), NULL, 0);
  OPENSSL_cleanse(k, sizeof(k));
  if (e != &s->uncached) {
    memcpy(e->secret_hash, secret_hash, sizeof(secret_hash));
    memcpy(e->date, date, 8);
    memcpy(e->region, p->region, p->region_len);
    memcpy(e->service, p->service, p->service_len);
    e->region_len = p->region_len;
    e->service_len = p->service_len;
    e->used = 1;
  }
  OPENSSL_cleanse(secret_hash, sizeof(secret_hash));
  return e;
}


/* Credential scope: YYYYMMDD/region/service/aws4_request. */
static int build_scope (struct kumo_sigv4_signer *s,
                        const struct kumo_sigv4_params *p) {
  int rc;
  s->scope.len = 0;
  rc = buf_reserve(&s->scope, 8 + p->region_len + p->service_len +
                              sizeof(TERMINATOR) + 3);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  buf_add(&s->scope, s->amz_date, 8);
  buf_addc(&s->scope, '/');
  buf_add(&s->scope, p->region, p->region_len);
  buf_addc(&s->scope, '/');
  buf_add(&s->scope, p->service, p->service_len);
  buf_addc(&s->scope, '/');
  buf_addlit(&s->scope, TERMINATOR);
  return KUMO_SIGV4_OK;
}


/* The X-Amz-* parameters of a presigned URL, into the query list. */
static int presign_params (struct kumo_sigv4_signer *s,
                           const struct kumo_sigv4_params *p,
                           const char *token, size_t token_len) {
  char expires[24];
  int rc, n;
  s->auth.len = 0;  /* the credential, built in the unused auth buffer */
  rc = buf_add(&s->auth, p->access_key_id, p->access_key_id_len);
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->auth, '/');
  if (rc == KUMO_SIGV4_OK)
    rc = buf_add(&s->auth, s->scope.data, s->scope.len);
  n = snprintf(expires, sizeof(expires), "%ld", p->expires);
  {
    const struct { const char *k; const char *v; size_t vl; int on; } q[] = {
      {"X-Amz-Algorithm", ALGORITHM, sizeof(ALGORITHM) - 1, 1},
      {"X-Amz-Credential", s->auth.data, s->auth.len, 1},
      {"X-Amz-Date", s->amz_date, 16, 1},
      {"X-Amz-Expires", expires, (size_t)n, 1},
      {"X-Amz-Security-Token", token, token_len,
       token != NULL && !(p->flags & KUMO_SIGV4_OMIT_SESSION_TOKEN)},
      {"X-Amz-SignedHeaders", s->sh.data, s->sh.len, 1},
    };
    size_t i;
    for (i = 0; rc == KUMO_SIGV4_OK && i < sizeof(q) / sizeof(q[0]); i++) {
      if (q[i].on)
        rc = query_add(&s->enc, &s->query, q[i].k, strlen(q[i].k), q[i].v,
                       q[i].vl, 0);
    }
  }
  return rc;
}


/* The presigned URL: the request's URL with the canonical query. */
static int build_url (struct kumo_sigv4_signer *s, const struct url_parts *u,
                      size_t qoff, size_t qlen, const char *token,
                      size_t token_len, unsigned flags) {
  int rc;
  s->url.len = 0;
  rc = buf_reserve(&s->url, u->scheme_len + 3 + u->authority_len +
                            u->path_len + 2 + qlen + 17 + 64 + 22);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  buf_add(&s->url, u->scheme, u->scheme_len);
  buf_addlit(&s->url, "://");
  buf_add(&s->url, u->authority, u->authority_len);
  if (u->path_len > 0)
    buf_add(&s->url, u->path, u->path_len);
  else
    buf_addc(&s->url, '/');
  buf_addc(&s->url, '?');
  buf_add(&s->url, s->cr.data + qoff, qlen);
  buf_addlit(&s->url, "&X-Amz-Signature=");
  buf_add(&s->url, s->signature, 64);
  if (token != NULL && (flags & KUMO_SIGV4_OMIT_SESSION_TOKEN)) {
    char *d;
    buf_addlit(&s->url, "&X-Amz-Security-Token=");
    rc = buf_reserve(&s->url, 3 * token_len);
    if (rc != KUMO_SIGV4_OK)
      return rc;
    d = encode_component(s->url.data + s->url.len, token, token_len, 0);
    s->url.len = (size_t)(d - s->url.data);
  }
  buf_cstr(&s->url);
  return KUMO_SIGV4_OK;
}


/* One more header for the caller to add (at most four). */
static void add_header (struct kumo_sigv4_result *r, const char *name,
                        const char *value, size_t len) {
  struct kumo_sigv4_header *h = &r->add[r->nadd++];
  h->name = name;
  h->name_len = strlen(name);
  h->value = value;
  h->value_len = len;
}


/* One signature's state: what the request carries, what was derived. */
struct sign_state {
  const struct kumo_sigv4_request *req;
  const struct kumo_sigv4_params *p;
  int presign;
  struct url_parts u;
  struct carried c;
  const char *token;          /* NULL when none (or empty) */
  size_t token_len;
  const char *payload;        /* HashedPayload */
  size_t payload_len;
  size_t nhdrs;               /* headers to sign, in s->hdrs */
  size_t qoff, qlen;          /* the canonical query, inside s->cr */
};


/* RequestDateTime: a carried X-Amz-Date wins over the given time. */
static int request_time (struct kumo_sigv4_signer *s,
                         const struct sign_state *st) {
  int rc;
  const struct kumo_sigv4_header *d = st->c.date;
  if (d != NULL) {
    s->date_cached = 0;
    return parse_amz_date(s->amz_date, d->value,
                          d->value != NULL ? d->value_len : 0);
  }
  if (s->date_cached && st->p->time == s->date_time)
    return KUMO_SIGV4_OK;
  rc = kumo_sigv4_amz_date(s->amz_date, st->p->time);
  s->date_time = st->p->time;
  s->date_cached = rc == KUMO_SIGV4_OK;
  return rc;
}


/* HashedPayload: a carried x-amz-content-sha256 wins, then
** UNSIGNED-PAYLOAD when asked, else SHA-256 of the body. */
static int payload_hash (struct kumo_sigv4_signer *s, struct sign_state *st) {
  const struct kumo_sigv4_header *h = st->c.sha256;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  if (h != NULL) {
    int rc;
    s->scratch.len = 0;
    rc = kumo_sigv4_trimall(&s->scratch, h->value,
                            h->value != NULL ? h->value_len : 0);
    if (rc != KUMO_SIGV4_OK)
      return rc;
    st->payload = buf_cstr(&s->scratch);
    st->payload_len = s->scratch.len;
  }
  else if (st->p->flags & KUMO_SIGV4_UNSIGNED_PAYLOAD) {
    st->payload = UNSIGNED_PAYLOAD;
    st->payload_len = sizeof(UNSIGNED_PAYLOAD) - 1;
  }
  else {
    sha256(st->req->body != NULL ? st->req->body : "", st->req->body_len,
           digest);
    hex32(s->payload_hex, digest);
    st->payload = s->payload_hex;
    st->payload_len = 64;
  }
  return KUMO_SIGV4_OK;
}


/* The headers the signer adds and signs itself (the header form adds the
** date, the token and the body hash), then the sort and SignedHeaders. */
static int header_list (struct kumo_sigv4_signer *s, struct sign_state *st) {
  size_t order = st->req->nheaders;
  unsigned flags = st->p->flags;
  if (!st->c.host) {
    int rc = host_from_url(&s->host, &st->u);
    if (rc != KUMO_SIGV4_OK)
      return rc;
    push_hdr(s, &st->nhdrs, "host", buf_cstr(&s->host), s->host.len,
             order++);
  }
  if (!st->presign) {
    if (st->c.date == NULL)
      push_hdr(s, &st->nhdrs, "x-amz-date", s->amz_date, 16, order++);
    if (st->token != NULL && !st->c.token &&
        !(flags & KUMO_SIGV4_OMIT_SESSION_TOKEN))
      push_hdr(s, &st->nhdrs, "x-amz-security-token", st->token,
               st->token_len, order++);
    if ((flags & KUMO_SIGV4_SIGN_BODY_HASH) && st->c.sha256 == NULL)
      push_hdr(s, &st->nhdrs, "x-amz-content-sha256", st->payload,
               st->payload_len, order++);
  }
  sort_hdrs(s->hdrs, st->nhdrs);
  return signed_headers(s, st->nhdrs);
}


/*
** CanonicalRequest =
**   HTTPMethod \n CanonicalURI \n CanonicalQueryString \n
**   CanonicalHeaders \n SignedHeaders \n HashedPayload
*/
static int canonical_request (struct kumo_sigv4_signer *s,
                              struct sign_state *st) {
  const struct kumo_sigv4_request *req = st->req;
  int rc;
  s->cr.len = 0;
  s->enc.len = 0;
  s->query.n = 0;
  rc = buf_add(&s->cr, req->method, req->method_len);
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->cr, '\n');
  if (rc == KUMO_SIGV4_OK)
    rc = kumo_sigv4_canonical_uri(&s->cr, st->u.path, st->u.path_len,
                                  (st->p->flags & KUMO_SIGV4_NORMALIZE_PATH)
                                  != 0);
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->cr, '\n');
  if (rc == KUMO_SIGV4_OK && st->u.query != NULL)
    rc = query_parse(&s->enc, &s->query, st->u.query, st->u.query_len,
                     st->presign);
  if (rc == KUMO_SIGV4_OK && st->presign)
    rc = presign_params(s, st->p, st->token, st->token_len);
  st->qoff = s->cr.len;
  if (rc == KUMO_SIGV4_OK)
    rc = query_emit(&s->cr, &s->enc, &s->query);
  st->qlen = s->cr.len - st->qoff;
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->cr, '\n');
  if (rc == KUMO_SIGV4_OK)
    rc = canonical_headers(s, st->nhdrs);
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->cr, '\n');
  if (rc == KUMO_SIGV4_OK)
    rc = buf_add(&s->cr, s->sh.data, s->sh.len);
  if (rc == KUMO_SIGV4_OK)
    rc = buf_addc(&s->cr, '\n');
  if (rc == KUMO_SIGV4_OK)
    rc = buf_add(&s->cr, st->payload, st->payload_len);
  if (rc == KUMO_SIGV4_OK)
    buf_cstr(&s->cr);
  return rc;
}


/*
** StringToSign =
**   Algorithm \n RequestDateTime \n CredentialScope \n
**   HashedCanonicalRequest
*/
static int string_to_sign (struct kumo_sigv4_signer *s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  char cr_hex[65];
  int rc;
  sha256(s->cr.data, s->cr.len, digest);
  hex32(cr_hex, digest);
  s->sts.len = 0;
  rc = buf_reserve(&s->sts, sizeof(ALGORITHM) + 17 + s->scope.len + 1 + 64);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  buf_addlit(&s->sts, ALGORITHM "\n");
  buf_add(&s->sts, s->amz_date, 16);
  buf_addc(&s->sts, '\n');
  buf_add(&s->sts, s->scope.data, s->scope.len);
  buf_addc(&s->sts, '\n');
  buf_add(&s->sts, cr_hex, 64);
  buf_cstr(&s->sts);
  return KUMO_SIGV4_OK;
}


/* Signature = Hex(HMAC(SigningKey, StringToSign)). */
static void signature (struct kumo_sigv4_signer *s,
                       const struct kumo_sigv4_params *p) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  const struct key_entry *key = signing_key(s, p, s->amz_date);
  hmac_final(&key->inner, &key->outer, s->sts.data, s->sts.len, digest);
  hex32(s->signature, digest);
  if (key == &s->uncached)  /* not kept: wipe it now */
    OPENSSL_cleanse(&s->uncached, sizeof(s->uncached));
  OPENSSL_cleanse(digest, sizeof(digest));
}


/* Header form: the Authorization value and the headers to add. */
static int authorization (struct kumo_sigv4_signer *s,
                          const struct sign_state *st,
                          struct kumo_sigv4_result *r) {
  const struct kumo_sigv4_params *p = st->p;
  int rc;
  s->auth.len = 0;
  rc = buf_reserve(&s->auth, sizeof(ALGORITHM) + 12 + p->access_key_id_len +
                             1 + s->scope.len + 16 + s->sh.len + 12 + 64);
  if (rc != KUMO_SIGV4_OK)
    return rc;
  buf_addlit(&s->auth, ALGORITHM " Credential=");
  buf_add(&s->auth, p->access_key_id, p->access_key_id_len);
  buf_addc(&s->auth, '/');
  buf_add(&s->auth, s->scope.data, s->scope.len);
  buf_addlit(&s->auth, ", SignedHeaders=");
  buf_add(&s->auth, s->sh.data, s->sh.len);
  buf_addlit(&s->auth, ", Signature=");
  buf_add(&s->auth, s->signature, 64);
  r->authorization = buf_cstr(&s->auth);
  r->authorization_len = s->auth.len;
  add_header(r, "Authorization", r->authorization, r->authorization_len);
  if (st->c.date == NULL)
    add_header(r, "X-Amz-Date", s->amz_date, 16);
  if (st->token != NULL && !st->c.token)
    add_header(r, "X-Amz-Security-Token", st->token, st->token_len);
  if ((p->flags & KUMO_SIGV4_SIGN_BODY_HASH) && st->c.sha256 == NULL)
    add_header(r, "x-amz-content-sha256", st->payload, st->payload_len);
  return KUMO_SIGV4_OK;
}


/* The stages in order; 'out' is written only when all succeed. */
static int sign_request (struct kumo_sigv4_signer *s,
                         const struct kumo_sigv4_request *req,
                         const struct kumo_sigv4_params *p, int presign,
                         struct kumo_sigv4_result *out) {
  struct sign_state st;
  struct kumo_sigv4_result r;
  int rc;
  memset(&st, 0, sizeof(st));
  memset(&r, 0, sizeof(r));
  st.req = req;
  st.p = p;
  st.presign = presign;
  st.token = p->session_token;
  st.token_len = st.token != NULL ? p->session_token_len : 0;
  if (st.token_len == 0)
    st.token = NULL;
  signer_shrink(s);
  rc = check_params(req, p, presign);
  if (rc == KUMO_SIGV4_OK)
    rc = parse_url(&st.u, req->url, req->url_len);
  if (rc == KUMO_SIGV4_OK)
    rc = collect_headers(s, req, presign, &st.c, &st.nhdrs);
  if (rc == KUMO_SIGV4_OK)
    rc = request_time(s, &st);
  if (rc == KUMO_SIGV4_OK)
    rc = payload_hash(s, &st);
  if (rc == KUMO_SIGV4_OK)
    rc = header_list(s, &st);
  if (rc == KUMO_SIGV4_OK)
    rc = build_scope(s, p);
  if (rc == KUMO_SIGV4_OK)
    rc = canonical_request(s, &st);
  if (rc == KUMO_SIGV4_OK)
    rc = string_to_sign(s);
  if (rc != KUMO_SIGV4_OK)
    goto fail;
  signature(s, p);
  if (presign) {
    rc = build_url(s, &st.u, st.qoff, st.qlen, st.token, st.token_len,
                   p->flags);
    r.url = s->url.data;
    r.url_len = s->url.len;
  }
  else
    rc = authorization(s, &st, &r);
  if (rc != KUMO_SIGV4_OK)
    goto fail;
  r.canonical_request = s->cr.data;
  r.canonical_request_len = s->cr.len;
  r.string_to_sign = s->sts.data;
  r.string_to_sign_len = s->sts.len;
  r.signature = s->signature;
  *out = r;
  return KUMO_SIGV4_OK;
fail:
  return rc;
}


int kumo_sigv4_sign (struct kumo_sigv4_signer *s,
                     const struct kumo_sigv4_request *req,
                     const struct kumo_sigv4_params *p,
                     struct kumo_sigv4_result *out) {
  return sign_request(s, req, p, 0, out);
}


int kumo_sigv4_presign (struct kumo_sigv4_signer *s,
                        const struct kumo_sigv4_request *req,
                        const struct kumo_sigv4_params *p,
                        struct kumo_sigv4_result *out) {
  return sign_request(s, req, p, 1, out);
}

/* }====================================================== */
