/* SPDX-License-Identifier: Apache-2.0 */
/*
** libFuzzer target for kumo's SigV4 canonicaliser (src/sigv4.c).
**
** Input: byte 0 holds option bits, then lines: the URL, then header lines
** "name:value" up to an empty line, then the body. The whole input also
** goes through the canonical URI, query and trim stages on its own.
** Besides "no crash, no leak, no UB", it checks invariants: canonical
** forms use only allowed bytes, the canonical query is sorted, the string
** to sign ends with SHA-256(canonical request), signing is deterministic,
** and a failure leaves the result untouched.
*/
/* fuzz-sources: src/sigv4.c src/clock.c */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kumo/sigv4.h"

#define MAX_HEADERS 64

static struct kumo_sigv4_signer *signer;  /* kept: exercises the key cache */


static int is_unreserved (unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

static int is_upper_hex (unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int is_any_hex (unsigned char c) {
  return is_upper_hex(c) || (c >= 'a' && c <= 'f');
}


/* Only unreserved bytes, 'extra' bytes, and %XX (upper case unless
** 'lower_ok': S3 paths keep the caller's escapes). */
static void check_encoded (const char *s, size_t n, const char *extra,
                           int lower_ok) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c) || (c != '\0' && strchr(extra, c) != NULL))
      continue;
    if (c == '%' && i + 2 < n &&
        (lower_ok ? is_any_hex((unsigned char)s[i + 1]) &&
                    is_any_hex((unsigned char)s[i + 2])
                  : is_upper_hex((unsigned char)s[i + 1]) &&
                    is_upper_hex((unsigned char)s[i + 2]))) {
      i += 2;
      continue;
    }
    abort();
  }
}


static void check_stages (const char *data, size_t size) {
  struct kumo_sigv4_buf b;
  size_t i, prev_start = 0, prev_len = 0;
  int first = 1;
  kumo_sigv4_buf_init(&b, 1 << 20);
  if (kumo_sigv4_canonical_uri(&b, data, size, 1) == KUMO_SIGV4_OK) {
    if (b.len == 0 || b.data[0] != '/')
      abort();
    check_encoded(b.data, b.len, "/", 0);
    for (i = 0; i + 1 < b.len; i++) {
      if (b.data[i] == '/' && b.data[i + 1] == '/')
        abort();  /* empty segments are dropped */
    }
  }
  b.len = 0;
  if (kumo_sigv4_canonical_uri(&b, data, size, 0) == KUMO_SIGV4_OK) {
    if (b.len == 0 || (size > 0 && b.len < size))
      abort();
    check_encoded(b.data, b.len, "/", 1);
  }
  b.len = 0;
  if (kumo_sigv4_canonical_query(&b, data, size) == KUMO_SIGV4_OK) {
    check_encoded(b.data, b.len, "=&", 0);
    for (i = 0; i <= b.len; i++) {  /* pairs are in ascending order */
      if (i == b.len || b.data[i] == '&') {
        size_t start = first ? 0 : prev_start + prev_len + 1;
        size_t len = i - start;
        if (!first) {
          /* compare keys first, then values, as the signer sorts */
          const char *pa = b.data + prev_start, *pb = b.data + start;
          const char *ea = memchr(pa, '=', prev_len);
          const char *eb = memchr(pb, '=', len);
          size_t ka = ea ? (size_t)(ea - pa) : prev_len;
          size_t kb = eb ? (size_t)(eb - pb) : len;
          int c = memcmp(pa, pb, ka < kb ? ka : kb);
          if (c > 0 || (c == 0 && ka > kb))
            abort();
          if (c == 0 && ka == kb) {
            size_t va = prev_len - ka, vb = len - kb;
            c = memcmp(pa + ka, pb + kb, va < vb ? va : vb);
            if (c > 0 || (c == 0 && va > vb))
              abort();
          }
        }
        prev_start = start;
        prev_len = len;
        first = 0;
      }
    }
  }
  b.len = 0;
  if (kumo_sigv4_trimall(&b, data, size) == KUMO_SIGV4_OK && b.len > 0) {
    if (b.data[0] == ' ' || b.data[b.len - 1] == ' ')
      abort();
    for (i = 0; i < b.len; i++) {
      unsigned char c = (unsigned char)b.data[i];
      if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
          (c == ' ' && i + 1 < b.len && b.data[i + 1] == ' '))
        abort();
    }
  }
  kumo_sigv4_buf_free(&b);
}


/* Split "url\nname:value\n...\n\nbody" into a request. */
static size_t parse_input (const char *p, size_t n,
                           struct kumo_sigv4_request *req,
                           struct kumo_sigv4_header *h) {
  const char *end = p + n, *nl;
  size_t nh = 0;
  nl = memchr(p, '\n', n);
  req->url = p;
  req->url_len = nl != NULL ? (size_t)(nl - p) : n;
  p = nl != NULL ? nl + 1 : end;
  while (p < end && nh < MAX_HEADERS) {
    const char *colon;
    size_t len;
    nl = memchr(p, '\n', (size_t)(end - p));
    len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
    if (len == 0) {  /* the empty line: the body follows */
      p++;
      break;
    }
    colon = memchr(p, ':', len);
    h[nh].name = p;
    h[nh].name_len = colon != NULL ? (size_t)(colon - p) : len;
    h[nh].value = colon != NULL ? colon + 1 : "";
    h[nh].value_len = colon != NULL ? len - h[nh].name_len - 1 : 0;
    nh++;
    p += len + (nl != NULL);
  }
  req->body = p;
  req->body_len = (size_t)(end - p);
  req->headers = h;
  req->nheaders = nh;
  return nh;
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
  struct kumo_sigv4_header headers[MAX_HEADERS];
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r, r2, sentinel;
  unsigned char md[32];
  char hexmd[65], sig[65];
  int rc, presign, i;
  unsigned opts;
  if (signer == NULL) {
    signer = kumo_sigv4_signer_new();
    if (signer == NULL)
      return 0;
  }
  check_stages((const char *)data, size);
  if (size < 1)
    return 0;
  opts = data[0];
  memset(&req, 0, sizeof(req));
  memset(&p, 0, sizeof(p));
  parse_input((const char *)data + 1, size - 1, &req, headers);
  req.method = methods[(opts >> 6) & 3];
  req.method_len = strlen(req.method);
  p.region = (opts & 0x20) ? "us-east-1" : "ap-northeast-1";
  p.region_len = strlen(p.region);
  p.service = "service";
  p.service_len = 7;
  p.access_key_id = "AKIDEXAMPLE";
  p.access_key_id_len = 11;
  p.secret_access_key = (opts & 0x10) ? "secret-a" : "secret-b";
  p.secret_access_key_len = 8;
  p.session_token = (opts & 0x08) ? "tok/+=" : NULL;
  p.session_token_len = (opts & 0x08) ? 6 : 0;
  p.time = 1440938160 + (int64_t)(opts & 3) * 86400;
  p.flags = opts & 0x0f;
  p.expires = 3600;
  presign = (opts & 0x04) != 0;

  memset(&sentinel, 0xa5, sizeof(sentinel));
  r = sentinel;
  rc = presign ? kumo_sigv4_presign(signer, &req, &p, &r)
               : kumo_sigv4_sign(signer, &req, &p, &r);
  if (rc != KUMO_SIGV4_OK) {
    if (memcmp(&r, &sentinel, sizeof(r)) != 0)
      abort();  /* out-params set only on success */
    return 0;
  }
  if (strlen(r.signature) != 64 || r.canonical_request == NULL ||
      strlen(r.canonical_request) > r.canonical_request_len)
    abort();
  EVP_Digest(r.canonical_request, r.canonical_request_len, md, NULL,
             EVP_sha256(), NULL);
  for (i = 0; i < 32; i++) {
    static const char hx[] = "0123456789abcdef";
    hexmd[2 * i] = hx[md[i] >> 4];
    hexmd[2 * i + 1] = hx[md[i] & 15];
  }
  hexmd[64] = '\0';
  if (r.string_to_sign_len < 64 ||
      memcmp(r.string_to_sign + r.string_to_sign_len - 64, hexmd, 64) != 0)
    abort();
  if (presign ? (r.url == NULL || r.nadd != 0)
              : (r.authorization == NULL || r.nadd < 1 || r.nadd > 4))
    abort();
  memcpy(sig, r.signature, 65);
  rc = presign ? kumo_sigv4_presign(signer, &req, &p, &r2)
               : kumo_sigv4_sign(signer, &req, &p, &r2);
  if (rc != KUMO_SIGV4_OK || memcmp(sig, r2.signature, 65) != 0)
    abort();  /* deterministic, whatever the cache holds */
  return 0;
}
