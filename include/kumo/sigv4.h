/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo SigV4: AWS Signature Version 4 in pure C (no Lua), header form
** (an Authorization header) and query form (a presigned URL).
**
** The stages follow the spec (and curl's lib/http_aws_sigv4.c, aws-c-auth):
** canonical URI, canonical query, canonical headers, signed headers, payload
** hash, canonical request, string to sign, signing key, signature.
**
** Ownership: a signer owns every buffer it returns; results point into the
** signer and stay valid until the next sign/presign call on it or its free.
** The signer caches signing keys per (secret, date, region, service) and
** keeps only a SHA-256 of the secret as the cache key; all key material and
** buffers (which may hold a session token) are wiped on free.
** A signer is not thread safe: use one per thread (or per Lua state).
*/
#ifndef KUMO_SIGV4_H
#define KUMO_SIGV4_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 is success, anything else says what was wrong. */
enum kumo_sigv4_code {
  KUMO_SIGV4_OK = 0,
  KUMO_SIGV4_ENOMEM,        /* out of memory */
  KUMO_SIGV4_TOO_BIG,       /* a canonical form would exceed its cap */
  KUMO_SIGV4_BAD_METHOD,    /* empty, or not an HTTP token */
  KUMO_SIGV4_BAD_URL,       /* not scheme://host[:port][/path][?query] */
  KUMO_SIGV4_BAD_HEADER,    /* header name empty or not an HTTP token */
  KUMO_SIGV4_BAD_DATE,      /* X-Amz-Date header not YYYYMMDDTHHMMSSZ */
  KUMO_SIGV4_BAD_TIME,      /* time outside years 1970..9999 */
  KUMO_SIGV4_BAD_EXPIRES,   /* presign expiry outside 1..604800 s */
  KUMO_SIGV4_BAD_REGION,    /* empty, or has '/', white space or controls */
  KUMO_SIGV4_BAD_SERVICE,   /* same rules as the region */
  KUMO_SIGV4_BAD_KEY_ID,    /* same rules, and no ',' */
  KUMO_SIGV4_BAD_SECRET,    /* empty */
  KUMO_SIGV4_BAD_BODY,      /* body NULL with a non-zero length */
  KUMO_SIGV4_NCODES
};

/* Flags of struct kumo_sigv4_params. */
#define KUMO_SIGV4_NORMALIZE_PATH     0x1u  /* non-S3: normalise, encode twice */
#define KUMO_SIGV4_SIGN_BODY_HASH     0x2u  /* add x-amz-content-sha256 */
#define KUMO_SIGV4_UNSIGNED_PAYLOAD   0x4u  /* payload hash UNSIGNED-PAYLOAD */
#define KUMO_SIGV4_OMIT_SESSION_TOKEN 0x8u  /* token added after signing */

/* Longest canonical request, URL or header set the signer builds. */
#define KUMO_SIGV4_MAX_SIZE ((size_t)16 << 20)

/* Presigned URLs live at most seven days (AWS's limit). */
#define KUMO_SIGV4_MAX_EXPIRES 604800

/* One header; names and values are byte strings (not NUL-terminated). */
struct kumo_sigv4_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
};

/*
** The request to sign. Headers keep their order (repeated names are joined
** with ',' in that order). The body is only hashed. A request that already
** carries X-Amz-Date is signed at that time; one that carries
** X-Amz-Security-Token or x-amz-content-sha256 is not given a second one,
** and a carried x-amz-content-sha256 value is used as the payload hash.
** Authorization and hop-by-hop headers (connection, expect, keep-alive,
** proxy-*, te, trailer, transfer-encoding, upgrade) and user-agent,
** x-amzn-trace-id are not signed. A missing Host is signed from the URL.
*/
struct kumo_sigv4_request {
  const char *method;
  size_t method_len;
  const char *url;
  size_t url_len;
  const struct kumo_sigv4_header *headers;
  size_t nheaders;
  const char *body;          /* may be NULL when body_len is 0 */
  size_t body_len;
};

/* Who signs, where and when. session_token NULL (or empty) means none. */
struct kumo_sigv4_params {
  const char *region;
  size_t region_len;
  const char *service;
  size_t service_len;
  const char *access_key_id;
  size_t access_key_id_len;
  const char *secret_access_key;
  size_t secret_access_key_len;
  const char *session_token;
  size_t session_token_len;
  int64_t time;              /* unix seconds */
  unsigned flags;            /* KUMO_SIGV4_* flags */
  long expires;              /* presign only: seconds (1..604800) */
};

/*
** What signing produced; every pointer is owned by the signer (or, for an
** added X-Amz-Security-Token value, is the caller's token) and lives until
** the signer's next call. canonical_request, string_to_sign, signature,
** authorization and url are also NUL-terminated; use the lengths of 'add'.
** Header form: 'add' lists the headers to add to the request, in this
** order: Authorization, X-Amz-Date, X-Amz-Security-Token,
** x-amz-content-sha256 (each only when needed). Query form: 'url' is the
** presigned URL, 'nadd' is 0 and 'authorization' NULL.
*/
struct kumo_sigv4_result {
  const char *canonical_request;
  size_t canonical_request_len;
  const char *string_to_sign;
  size_t string_to_sign_len;
  const char *signature;     /* 64 lower-case hex digits */
  const char *authorization;
  size_t authorization_len;
  const char *url;
  size_t url_len;
  struct kumo_sigv4_header add[4];
  size_t nadd;
};

struct kumo_sigv4_signer;

/* A new signer, or NULL when out of memory. Free with _signer_free. */
struct kumo_sigv4_signer *kumo_sigv4_signer_new (void);

/* Wipe the signer's key cache and buffers and free it. NULL is a no-op. */
void kumo_sigv4_signer_free (struct kumo_sigv4_signer *s);

/*
** Sign 'req' in the header form. Returns KUMO_SIGV4_OK and fills 'out',
** or an error code and leaves 'out' untouched. After a BAD_HEADER error,
** kumo_sigv4_error_index() gives the index of the offending header.
*/
int kumo_sigv4_sign (struct kumo_sigv4_signer *s,
                     const struct kumo_sigv4_request *req,
                     const struct kumo_sigv4_params *p,
                     struct kumo_sigv4_result *out);

/*
** Presign 'req' (the query form): the signature goes into the URL, which
** carries the canonical query, X-Amz-Signature and, with
** KUMO_SIGV4_OMIT_SESSION_TOKEN, X-Amz-Security-Token after it. Any
** X-Amz-* authentication parameter already in the URL is replaced.
*/
int kumo_sigv4_presign (struct kumo_sigv4_signer *s,
                        const struct kumo_sigv4_request *req,
                        const struct kumo_sigv4_params *p,
                        struct kumo_sigv4_result *out);

/* Index of the header that caused the last KUMO_SIGV4_BAD_HEADER. */
size_t kumo_sigv4_error_index (const struct kumo_sigv4_signer *s);

/* A static English message for a code (never contains request data). */
const char *kumo_sigv4_strerror (int code);


/*
** {======================================================
** Stages, public so tests can check each one against the spec.
** =======================================================
*/

/* A growable byte buffer that refuses to grow past 'max'. */
struct kumo_sigv4_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max;
};

void kumo_sigv4_buf_init (struct kumo_sigv4_buf *b, size_t max);

/* Wipe (it may have held a token) and free; the buffer is reusable. */
void kumo_sigv4_buf_free (struct kumo_sigv4_buf *b);

/*
** Append the canonical URI of 'path' (the URL's path, as sent) to 'out'.
** normalize: drop empty and '.' segments, resolve '..', then encode every
** byte but unreserved ones and '/' (a '%' becomes '%25'). Otherwise (S3):
** no normalisation, valid %XX escapes kept, other bytes encoded once.
*/
int kumo_sigv4_canonical_uri (struct kumo_sigv4_buf *out, const char *path,
                              size_t len, int normalize);

/*
** Append the canonical query of 'query' (without '?'): pairs split on '&',
** key and value on the first '=', %XX decoded then re-encoded, sorted by
** key then value.
*/
int kumo_sigv4_canonical_query (struct kumo_sigv4_buf *out,
                                const char *query, size_t len);

/* Append 'value' trimmed, with every run of white space squeezed to ' '. */
int kumo_sigv4_trimall (struct kumo_sigv4_buf *out, const char *value,
                        size_t len);

/* Format unix time 't' as YYYYMMDDTHHMMSSZ (17 bytes with the NUL). */
int kumo_sigv4_amz_date (char out[17], int64_t t);

/*
** The signing key: HMAC chain of "AWS4"+secret over date (YYYYMMDD),
** region, service and "aws4_request". The caller wipes 'key'.
*/
void kumo_sigv4_signing_key (unsigned char key[32], const char *secret,
                             size_t secret_len, const char date[8],
                             const char *region, size_t region_len,
                             const char *service, size_t service_len);

/* }====================================================== */

#endif
