/* SPDX-License-Identifier: Apache-2.0 */
/*
** Unit tests of src/sigv4.c, stage by stage, plus whole signatures checked
** against an independent HMAC (OpenSSL's EVP HMAC, not sigv4.c's own).
** Build: cc -Iinclude tests/src/sigv4_test.c src/sigv4.c src/clock.c -lcrypto -lm
** Prints one line per failure and ends with "N passed, N failed".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kumo/sigv4.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) \
      passed++; \
    else { \
      failed++; \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__); \
      printf("\n"); \
    } \
  } while (0)

#define S(x) x, sizeof(x) - 1

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VANILLA_TIME 1440938160  /* 2015-08-30T12:36:00Z */


/* {====================================================== stages */

static void t_uri (const char *path, int normalize, const char *want) {
  struct kumo_sigv4_buf b;
  int rc;
  kumo_sigv4_buf_init(&b, KUMO_SIGV4_MAX_SIZE);
  rc = kumo_sigv4_canonical_uri(&b, path, strlen(path), normalize);
  CHECK(rc == 0 && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
        "canonical_uri(\"%s\", %d) = \"%.*s\", want \"%s\"", path, normalize,
        (int)b.len, b.data ? b.data : "", want);
  kumo_sigv4_buf_free(&b);
}


static void test_canonical_uri (void) {
  /* non-S3: normalised, then encoded again */
  t_uri("", 1, "/");
  t_uri("/", 1, "/");
  t_uri("//", 1, "/");
  t_uri("/a/b/../c", 1, "/a/c");
  t_uri("/a/./b/", 1, "/a/b/");
  t_uri("/..", 1, "/");
  t_uri("/../../a", 1, "/a");
  t_uri("/example/..", 1, "/");
  t_uri("/example1/example2/../..", 1, "/");
  t_uri("//example//", 1, "/example/");
  t_uri("/a/b/.", 1, "/a/b");
  t_uri("/a b", 1, "/a%20b");
  t_uri("/%41", 1, "/%2541");
  t_uri("/$delete", 1, "/%24delete");
  t_uri("/\xe1\x88\xb4", 1, "/%E1%88%B4");
  t_uri("/-._~AZaz09", 1, "/-._~AZaz09");
  t_uri("/a+b=c:d@e", 1, "/a%2Bb%3Dc%3Ad%40e");
  t_uri("/.../x", 1, "/.../x");
  /* S3: as sent, valid escapes kept, the rest encoded once */
  t_uri("", 0, "/");
  t_uri("//example//", 0, "//example//");
  t_uri("/./", 0, "/./");
  t_uri("/example/..", 0, "/example/..");
  t_uri("/example space/", 0, "/example%20space/");
  t_uri("/a%2Fb%2f", 0, "/a%2Fb%2f");
  t_uri("/a%zz", 0, "/a%25zz");
  t_uri("/a%4", 0, "/a%254");
  t_uri("/a%", 0, "/a%25");
  t_uri("/$", 0, "/%24");
}


static void t_query (const char *q, const char *want) {
  struct kumo_sigv4_buf b;
  int rc;
  kumo_sigv4_buf_init(&b, KUMO_SIGV4_MAX_SIZE);
  rc = kumo_sigv4_canonical_query(&b, q, strlen(q));
  CHECK(rc == 0 && b.len == strlen(want) &&
        (b.len == 0 || memcmp(b.data, want, b.len) == 0),
        "canonical_query(\"%s\") = \"%.*s\", want \"%s\"", q, (int)b.len,
        b.data ? b.data : "", want);
  kumo_sigv4_buf_free(&b);
}


static void test_canonical_query (void) {
  t_query("", "");
  t_query("b=2&a=1", "a=1&b=2");
  t_query("a", "a=");
  t_query("a=", "a=");
  t_query("a=b=c", "a=b%3Dc");
  t_query("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2");
  t_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
          "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  t_query("\xe1\x88\xb4=bar", "%E1%88%B4=bar");
  t_query("a=%7e&b=%2f", "a=~&b=%2F");
  t_query("a+b=c d", "a%2Bb=c%20d");
  t_query("a=1&&b=2&", "a=1&b=2");
  t_query("%zz=1&%4=2", "%254=2&%25zz=1");
  t_query("-._~=-._~", "-._~=-._~");
  t_query("a=2&a=10&a=1", "a=1&a=10&a=2");
  t_query("k=1&K=2&k-=3", "K=2&k=1&k-=3");
}


static void t_trim (const char *v, const char *want) {
  struct kumo_sigv4_buf b;
  int rc;
  kumo_sigv4_buf_init(&b, KUMO_SIGV4_MAX_SIZE);
  rc = kumo_sigv4_trimall(&b, v, strlen(v));
  CHECK(rc == 0 && b.len == strlen(want) &&
        (b.len == 0 || memcmp(b.data, want, b.len) == 0),
        "trimall(\"%s\") = \"%.*s\", want \"%s\"", v, (int)b.len,
        b.data ? b.data : "", want);
  kumo_sigv4_buf_free(&b);
}


static void test_trimall (void) {
  t_trim("", "");
  t_trim("   ", "");
  t_trim("a", "a");
  t_trim("  a   b   c  ", "a b c");
  t_trim("value1\n  value2\n     value3", "value1 value2 value3");
  t_trim("\t\r\n\v\fx\t\ty\f", "x y");
  t_trim("a,b; c", "a,b; c");
}


static void t_date (int64_t t, const char *want) {
  char out[17];
  int rc = kumo_sigv4_amz_date(out, t);
  CHECK(rc == 0 && strcmp(out, want) == 0, "amz_date(%lld) = %s, want %s",
        (long long)t, rc == 0 ? out : "(error)", want);
}


static void test_amz_date (void) {
  char out[17];
  t_date(0, "19700101T000000Z");
  t_date(86399, "19700101T235959Z");
  t_date(VANILLA_TIME, "20150830T123600Z");
  t_date(951782400, "20000229T000000Z");
  t_date(1456790400, "20160301T000000Z");
  t_date(1709164800, "20240229T000000Z");
  t_date(4107542400LL, "21000301T000000Z");
  t_date(253402300799LL, "99991231T235959Z");
  CHECK(kumo_sigv4_amz_date(out, -1) == KUMO_SIGV4_BAD_TIME, "time -1");
  CHECK(kumo_sigv4_amz_date(out, 253402300800LL) == KUMO_SIGV4_BAD_TIME,
        "time past 9999");
}


static void hex (char *out, const unsigned char *in, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", in[i]);
}


static void t_key (const char *secret, const char *date, const char *region,
                   const char *service, const char *want) {
  unsigned char key[32];
  char got[65];
  kumo_sigv4_signing_key(key, secret, strlen(secret), date, region,
                         strlen(region), service, strlen(service));
  hex(got, key, 32);
  CHECK(strcmp(got, want) == 0, "signing key (%s, %s, %s) = %s, want %s",
        date, region, service, got, want);
}


static void test_signing_key (void) {
  char s60[61], s61[62], s100[101];
  memset(s60, 'y', 60); s60[60] = '\0';
  memset(s61, 'y', 61); s61[61] = '\0';
  memset(s100, 'x', 100); s100[100] = '\0';
  /* AWS's documented example (Signature Version 4 signing key). */
  t_key(SECRET, "20120215", "us-east-1", "iam",
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  /* "AWS4" + secret at, and just past, one HMAC block (64 bytes). */
  t_key(s60, "20150830", "eu-west-3", "s3",
        "384f1a9f0e341de748c87882abe48a1c0b80959b2e6b34f630e8f79530eeff96");
  t_key(s61, "20150830", "eu-west-3", "s3",
        "237b5f4384ca987a4733a243986689e1fa5ff81dd9dbf8b88a36d4be35ceea88");
  t_key(s100, "20150830", "eu-west-3", "s3",
        "ce566d437f49c2887782145b46a419aafb47e682b44c31bb39ce99927e08a4da");
}

/* }====================================================== */


/* {====================================================== whole requests */

static const struct kumo_sigv4_header vanilla_headers[] = {
  {S("Host"), S("example.amazonaws.com")},
};

static void vanilla (struct kumo_sigv4_request *req,
                     struct kumo_sigv4_params *p) {
  memset(req, 0, sizeof(*req));
  memset(p, 0, sizeof(*p));
  req->method = "GET";
  req->method_len = 3;
  req->url = "https://example.amazonaws.com/";
  req->url_len = strlen(req->url);
  req->headers = vanilla_headers;
  req->nheaders = 1;
  p->region = "us-east-1";
  p->region_len = 9;
  p->service = "service";
  p->service_len = 7;
  p->access_key_id = "AKIDEXAMPLE";
  p->access_key_id_len = 11;
  p->secret_access_key = SECRET;
  p->secret_access_key_len = sizeof(SECRET) - 1;
  p->time = VANILLA_TIME;
  p->flags = KUMO_SIGV4_NORMALIZE_PATH;
  p->expires = 3600;
}


/* The signature must be HMAC(signing key, string to sign) and the string
** to sign must end with SHA-256(canonical request): computed here with
** OpenSSL's EVP/HMAC, independently of sigv4.c. */
static void check_consistent (const struct kumo_sigv4_params *p,
                              const struct kumo_sigv4_result *r,
                              const char *what) {
  unsigned char key[32], mac[32], md[32];
  unsigned int maclen = 0;
  char want_sig[65], want_hash[65];
  const char *date = r->string_to_sign + sizeof("AWS4-HMAC-SHA256");
  kumo_sigv4_signing_key(key, p->secret_access_key, p->secret_access_key_len,
                         date, p->region, p->region_len, p->service,
                         p->service_len);
  HMAC(EVP_sha256(), key, 32, (const unsigned char *)r->string_to_sign,
       r->string_to_sign_len, mac, &maclen);
  hex(want_sig, mac, 32);
  CHECK(maclen == 32 && strcmp(r->signature, want_sig) == 0,
        "%s: signature %s, HMAC says %s", what, r->signature, want_sig);
  EVP_Digest(r->canonical_request, r->canonical_request_len, md, NULL,
             EVP_sha256(), NULL);
  hex(want_hash, md, 32);
  CHECK(r->string_to_sign_len > 64 &&
        strcmp(r->string_to_sign + r->string_to_sign_len - 64,
               want_hash) == 0,
        "%s: string to sign does not end with the canonical request hash",
        what);
}


static int ends_with (const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}


static int has_add (const struct kumo_sigv4_result *r, const char *name,
                    const char *value) {
  size_t i;
  for (i = 0; i < r->nadd; i++) {
    if (r->add[i].name_len == strlen(name) &&
        memcmp(r->add[i].name, name, r->add[i].name_len) == 0 &&
        (value == NULL || (r->add[i].value_len == strlen(value) &&
                           memcmp(r->add[i].value, value,
                                  r->add[i].value_len) == 0)))
      return 1;
  }
  return 0;
}


static void test_vanilla (struct kumo_sigv4_signer *s) {
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  int rc;
  vanilla(&req, &p);
  rc = kumo_sigv4_sign(s, &req, &p, &r);
  CHECK(rc == 0, "vanilla sign: %s", kumo_sigv4_strerror(rc));
  if (rc != 0)
    return;
  /* aws-c-auth get-vanilla/header-signature.txt */
  CHECK(strcmp(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") == 0,
        "vanilla signature %s", r.signature);
  CHECK(strcmp(r.canonical_request,
               "GET\n/\n\nhost:example.amazonaws.com\n"
               "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        == 0, "vanilla canonical request");
  CHECK(r.nadd == 2 && strcmp(r.add[0].name, "Authorization") == 0 &&
        has_add(&r, "X-Amz-Date", "20150830T123600Z"),
        "vanilla adds Authorization then X-Amz-Date");
  CHECK(r.url == NULL, "header form has no URL");
  check_consistent(&p, &r, "vanilla");
}


static void test_session_token (struct kumo_sigv4_signer *s) {
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  const char *tok = "tok/en+=";
  vanilla(&req, &p);
  p.session_token = tok;
  p.session_token_len = strlen(tok);
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "token sign");
  CHECK(strstr(r.canonical_request, "x-amz-security-token:tok/en+=\n") &&
        strstr(r.authorization, "host;x-amz-date;x-amz-security-token,") &&
        has_add(&r, "X-Amz-Security-Token", tok), "token signed and added");
  check_consistent(&p, &r, "token");

  p.flags |= KUMO_SIGV4_OMIT_SESSION_TOKEN;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "omit token sign");
  CHECK(strstr(r.canonical_request, "security-token") == NULL &&
        has_add(&r, "X-Amz-Security-Token", tok),
        "omitted token: not signed, still added");

  /* an empty token is no token */
  p.session_token_len = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 && r.nadd == 2,
        "empty token adds nothing");

  /* presign, token after the signature, fully encoded */
  p.session_token_len = strlen(tok);
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == 0, "omit token presign");
  CHECK(r.url != NULL && strstr(r.canonical_request, "Token") == NULL &&
        ends_with(r.url, "&X-Amz-Security-Token=tok%2Fen%2B%3D"),
        "presign omit: %s", r.url ? r.url : "(null)");
  p.flags &= ~KUMO_SIGV4_OMIT_SESSION_TOKEN;
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == 0 &&
        strstr(r.canonical_request,
               "&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host\n")
        != NULL && r.nadd == 0 && r.authorization == NULL,
        "presign signs the token");
  check_consistent(&p, &r, "presign token");
}


static void test_presign (struct kumo_sigv4_signer *s) {
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  vanilla(&req, &p);
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == 0, "presign");
  /* aws-c-auth get-vanilla/query-signature.txt */
  CHECK(strcmp(r.signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d") == 0, "presign signature %s",
        r.signature);
  CHECK(ends_with(r.url, "&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"), "signature ends the URL");
  CHECK(strncmp(r.url, "https://example.amazonaws.com/?X-Amz-Algorithm="
                "AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
                "us-east-1%2Fservice%2Faws4_request&X-Amz-Date="
                "20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders="
                "host&X-Amz-Signature=", 196) == 0, "presigned URL %s", r.url);
  check_consistent(&p, &r, "presign");

  /* authentication parameters already in the URL are replaced */
  req.url = "https://example.amazonaws.com/p?X-Amz-Signature=old&a=1"
            "&X-Amz-Date=19990101T000000Z&X-Amz-Expires=9";
  req.url_len = strlen(req.url);
  p.expires = 604800;
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == 0, "re-presign");
  CHECK(strstr(r.url, "old") == NULL && strstr(r.url, "1999") == NULL &&
        strstr(r.url, "X-Amz-Expires=604800") != NULL &&
        strstr(r.url, "Expires=9&") == NULL &&
        strncmp(r.url, "https://example.amazonaws.com/p?X-Amz-Algorithm", 47)
        == 0 && strstr(r.url, "&a=1&X-Amz-Signature=") != NULL &&
        strstr(r.canonical_request, "&X-Amz-SignedHeaders=host&a=1\n"),
        "re-presign replaces: %s", r.url);

  p.expires = 0;
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == KUMO_SIGV4_BAD_EXPIRES,
        "expires 0");
  p.expires = 604801;
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == KUMO_SIGV4_BAD_EXPIRES,
        "expires past seven days");
  p.expires = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "sign ignores expires");
}


static void test_payload (struct kumo_sigv4_signer *s) {
  static const struct kumo_sigv4_header carried[] = {
    {S("Host"), S("example.amazonaws.com")},
    {S("X-Amz-Content-SHA256"), S(" STREAMING-AWS4-HMAC-SHA256-PAYLOAD ")},
  };
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  vanilla(&req, &p);
  req.method = "POST";
  req.method_len = 4;
  req.body = "Param1=value1";
  req.body_len = 13;
  p.flags |= KUMO_SIGV4_SIGN_BODY_HASH;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "body hash sign");
  CHECK(has_add(&r, "x-amz-content-sha256",
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        && strstr(r.canonical_request, "\nx-amz-content-sha256:9095672b"),
        "x-amz-content-sha256 added and signed");
  p.flags |= KUMO_SIGV4_UNSIGNED_PAYLOAD;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 &&
        has_add(&r, "x-amz-content-sha256", "UNSIGNED-PAYLOAD") &&
        strcmp(r.canonical_request + r.canonical_request_len - 17,
               "\nUNSIGNED-PAYLOAD") == 0, "unsigned payload");
  check_consistent(&p, &r, "unsigned");
  req.headers = carried;
  req.nheaders = 2;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 && r.nadd == 2 &&
        strcmp(r.canonical_request + r.canonical_request_len - 35,
               "\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0,
        "a carried x-amz-content-sha256 is the payload hash");
  /* presign: no header, body still hashed unless unsigned */
  p.flags &= ~KUMO_SIGV4_UNSIGNED_PAYLOAD;
  req.headers = vanilla_headers;
  req.nheaders = 1;
  CHECK(kumo_sigv4_presign(s, &req, &p, &r) == 0 &&
        strstr(r.canonical_request, "content-sha256") == NULL &&
        strcmp(r.canonical_request + r.canonical_request_len - 64,
               "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        == 0, "presign hashes the body");
}


static void test_headers (struct kumo_sigv4_signer *s) {
  static const struct kumo_sigv4_header hs[] = {
    {S("My-Header1"), S("  a   b  ")},
    {S("User-Agent"), S("not signed")},
    {S("my-header1"), S("second")},
    {S("Authorization"), S("stale")},
    {S("X-Amz-Date"), S(" 20200101T010203Z ")},
    {S("Expect"), S("100-continue")},
    {S("X-Amz-Security-Token"), S("carried")},
    {S("Zeta"), S("")},
  };
  static const struct kumo_sigv4_header bad_name[] = {
    {S("Host"), S("example.amazonaws.com")},
    {S("Bad Name"), S("v")},
  };
  static const struct kumo_sigv4_header bad_date[] = {
    {S("X-Amz-Date"), S("2020-01-01T01:02:03Z")},
  };
  static const struct kumo_sigv4_header empty_name[] = {
    {S(""), S("v")},
  };
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  vanilla(&req, &p);
  req.url = "http://EXAMPLE.com:8080/";
  req.url_len = strlen(req.url);
  req.headers = hs;
  req.nheaders = sizeof(hs) / sizeof(hs[0]);
  p.time = -12;  /* ignored: the request carries X-Amz-Date */
  p.session_token = "tok";
  p.session_token_len = 3;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "headers sign");
  CHECK(strcmp(r.canonical_request,
               "GET\n/\n\nhost:example.com:8080\nmy-header1:a b,second\n"
               "x-amz-date:20200101T010203Z\nx-amz-security-token:carried\n"
               "zeta:\n\nhost;my-header1;x-amz-date;x-amz-security-token;"
               "zeta\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        == 0, "canonical headers:\n%s", r.canonical_request);
  CHECK(r.nadd == 1 && strcmp(r.add[0].name, "Authorization") == 0,
        "carried date and token are not added again");
  CHECK(strstr(r.string_to_sign, "\n20200101T010203Z\n20200101/") != NULL,
        "the carried date is the signing time");

  req.headers = bad_name;
  req.nheaders = 2;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_HEADER &&
        kumo_sigv4_error_index(s) == 1, "bad header name, index 1");
  req.headers = empty_name;
  req.nheaders = 1;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_HEADER &&
        kumo_sigv4_error_index(s) == 0, "empty header name");
  req.headers = bad_date;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_DATE,
        "malformed X-Amz-Date");
  req.headers = NULL;
  req.nheaders = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_TIME,
        "time -12 without X-Amz-Date");
}


static void test_hosts (struct kumo_sigv4_signer *s) {
  static const struct { const char *url, *host; } cases[] = {
    {"https://h.example.com:443/", "host:h.example.com\n"},
    {"http://h.example.com:80/", "host:h.example.com\n"},
    {"http://h.example.com:443/", "host:h.example.com:443\n"},
    {"HTTPS://user:pw@H.Example.com:8443/x", "host:h.example.com:8443\n"},
    {"http://[::1]:9000/", "host:[::1]:9000\n"},
    {"http://[::1]/", "host:[::1]\n"},
    {"https://h?x=1", "host:h\n"},
    {"https://h#frag", "host:h\n"},
    {"svc+ws.1-x://h/", "host:h\n"},
  };
  static const char *bad[] = {
    "example.com/", "https://", "https:///path", "https://h:8a/",
    "https://[::1/", "https://h x/", "://h/", "h/p?u=http://x/",
    "1http://h/", "ht tp://h/",
  };
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  size_t i;
  vanilla(&req, &p);
  req.headers = NULL;
  req.nheaders = 0;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    req.url = cases[i].url;
    req.url_len = strlen(req.url);
    CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 &&
          strstr(r.canonical_request, cases[i].host) != NULL,
          "host of %s", cases[i].url);
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    req.url = bad[i];
    req.url_len = strlen(req.url);
    CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_URL,
          "bad url %s", bad[i]);
  }
}


static void test_errors (struct kumo_sigv4_signer *s) {
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r, sentinel;
  int rc, i;
  memset(&sentinel, 0x5a, sizeof(sentinel));
  r = sentinel;
  vanilla(&req, &p);
  p.region = "us/east";
  p.region_len = 7;
  rc = kumo_sigv4_sign(s, &req, &p, &r);
  CHECK(rc == KUMO_SIGV4_BAD_REGION, "region with '/'");
  CHECK(memcmp(&r, &sentinel, sizeof(r)) == 0, "out untouched on failure");
  vanilla(&req, &p);
  p.region_len = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_REGION,
        "empty region");
  vanilla(&req, &p);
  p.service = "a b";
  p.service_len = 3;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_SERVICE,
        "service with a space");
  vanilla(&req, &p);
  p.access_key_id = "AK,ID";
  p.access_key_id_len = 5;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_KEY_ID,
        "key id with ','");
  vanilla(&req, &p);
  p.secret_access_key_len = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_SECRET,
        "empty secret");
  vanilla(&req, &p);
  req.method = "GE T";
  req.method_len = 4;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_METHOD,
        "method with a space");
  req.method_len = 0;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_METHOD,
        "empty method");
  vanilla(&req, &p);
  req.body = NULL;
  req.body_len = 5;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_BODY,
        "NULL body with a length");
  vanilla(&req, &p);
  p.time = -1;
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_TIME &&
        kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_BAD_TIME,
        "a bad time fails every time (no stale cached date)");
  for (i = 0; i < KUMO_SIGV4_NCODES; i++)
    CHECK(strlen(kumo_sigv4_strerror(i)) > 1, "message for code %d", i);
  CHECK(strcmp(kumo_sigv4_strerror(-1), "unknown sigv4 error") == 0,
        "unknown code");
  /* a header value over the cap */
  {
    size_t big = KUMO_SIGV4_MAX_SIZE + 1;
    char *v = malloc(big);
    struct kumo_sigv4_header h;
    if (v != NULL) {
      memset(v, 'a', big);
      h.name = "X-Big";
      h.name_len = 5;
      h.value = v;
      h.value_len = big;
      vanilla(&req, &p);
      req.headers = &h;
      req.nheaders = 1;
      CHECK(kumo_sigv4_sign(s, &req, &p, &r) == KUMO_SIGV4_TOO_BIG,
            "over-cap header value");
      free(v);
    }
  }
  /* a large (not over-cap) request, then the signer shrinks back */
  {
    size_t big = 200000;
    char *v = malloc(big);
    struct kumo_sigv4_header h;
    if (v != NULL) {
      memset(v, 'b', big);
      h.name = "X-Large";
      h.name_len = 7;
      h.value = v;
      h.value_len = big;
      vanilla(&req, &p);
      req.headers = &h;
      req.nheaders = 1;
      CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 &&
            r.canonical_request_len > big, "large header value");
      check_consistent(&p, &r, "large");
      free(v);
    }
  }
  /* the signer still works after failures */
  vanilla(&req, &p);
  CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0 &&
        strcmp(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") == 0,
        "signer usable after errors");
}


/* The key cache must key on secret, date, region and service. */
static void test_key_cache (struct kumo_sigv4_signer *s) {
  static const char *regions[] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
  };
  char long_region[200];
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  int i, round;
  vanilla(&req, &p);
  for (round = 0; round < 2; round++) {
    for (i = 0; i < 11; i++) {  /* more than the cache holds */
      p.region = regions[i];
      p.region_len = strlen(regions[i]);
      p.secret_access_key = (i % 2) ? SECRET : "other-secret";
      p.secret_access_key_len = strlen(p.secret_access_key);
      p.time = VANILLA_TIME + (int64_t)(i % 3) * 86400;
      CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "cache sign %d", i);
      check_consistent(&p, &r, regions[i]);
    }
  }
  memset(long_region, 'r', sizeof(long_region) - 1);
  long_region[sizeof(long_region) - 1] = '\0';
  p.region = long_region;
  p.region_len = strlen(long_region);
  for (i = 0; i < 2; i++) {
    p.secret_access_key = i ? SECRET : "other-secret";
    p.secret_access_key_len = strlen(p.secret_access_key);
    CHECK(kumo_sigv4_sign(s, &req, &p, &r) == 0, "long region sign");
    check_consistent(&p, &r, "long region (uncached)");
  }
}

/* }====================================================== */


int main (void) {
  struct kumo_sigv4_signer *s = kumo_sigv4_signer_new();
  if (s == NULL) {
    printf("cannot create a signer\n");
    return 1;
  }
  test_canonical_uri();
  test_canonical_query();
  test_trimall();
  test_amz_date();
  test_signing_key();
  test_vanilla(s);
  test_session_token(s);
  test_presign(s);
  test_payload(s);
  test_headers(s);
  test_hosts(s);
  test_errors(s);
  test_key_cache(s);
  kumo_sigv4_signer_free(s);
  kumo_sigv4_signer_free(NULL);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
