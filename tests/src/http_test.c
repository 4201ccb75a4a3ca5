/* SPDX-License-Identifier: Apache-2.0 */
/*
** Unit tests of src/http.c that need no server: request validation, code
** names, an unreachable port, the queue and the engine's life cycle.
*/
#include <string.h>

#include <curl/curl.h>

#include "kumo/http.h"
#include "check.h"


static struct kumo_http_xfer *start (const char *method, const char *url,
                                     const struct kumo_http_header *h,
                                     size_t nh, char *err) {
  struct kumo_http_request r;
  memset(&r, 0, sizeof(r));
  r.method = method;
  r.url = url;
  r.headers = h;
  r.nheaders = nh;
  r.timeout = 5;
  return kumo_http_start(&r, err, 256);
}


static void test_validation (void) {
  char err[256];
  struct kumo_http_header bad1 = {"X-A", "v\r\nInjected: 1"};
  struct kumo_http_header bad2 = {"Bad Name", "v"};
  CHECK(start(NULL, "ftp://example.com/", NULL, 0, err) == NULL);
  CHECK_STR(err, "url must start with http:// or https://");
  CHECK(start(NULL, NULL, NULL, 0, err) == NULL);
  CHECK(start("GET /x HTTP/1.1\r\n", "http://127.0.0.1/", NULL, 0, err)
        == NULL);
  CHECK_HAS(err, "method must be a word");
  CHECK(start("GET", "http://127.0.0.1/", &bad1, 1, err) == NULL);
  CHECK_STR(err, "header 1: a header value has a CR or LF");
  CHECK(start("GET", "http://127.0.0.1/", &bad2, 1, err) == NULL);
  CHECK_HAS(err, "header name");
  CHECK(kumo_http_pending() == 0);
}


static void test_codenames (void) {
  CHECK_STR(kumo_http_codename(CURLE_OK), "CURLE_OK");
  CHECK_STR(kumo_http_codename(CURLE_COULDNT_CONNECT), "CURLE_COULDNT_CONNECT");
  CHECK_STR(kumo_http_codename(CURLE_OPERATION_TIMEDOUT),
            "CURLE_OPERATION_TIMEDOUT");
  CHECK_STR(kumo_http_codename(9999), "CURLE_UNKNOWN");
}


/* Port 1 on loopback: refused at once, no network needed. */
static void test_refused_and_queue (void) {
  char err[256];
  struct kumo_http_stats st;
  struct kumo_http_xfer *a, *b, *x;
  a = start("POST", "http://user:pw@127.0.0.1:1/p?X-Amz-Signature=SECRET",
            NULL, 0, err);
  b = start("GET", "http://127.0.0.1:1/q", NULL, 0, err);
  CHECK(a != NULL && b != NULL);
  if (a == NULL || b == NULL)
    return;
  CHECK(b->id == a->id + 1);
  CHECK(kumo_http_pending() == 2);
  CHECK(kumo_http_find(a->id) == a);
  kumo_http_wait(b);
  CHECK(b->done);
  CHECK(b->curlcode == CURLE_COULDNT_CONNECT);
  CHECK_STR(b->codename, "CURLE_COULDNT_CONNECT");
  CHECK_HAS(b->error, "GET http://127.0.0.1:1/q: Couldn't connect");
  kumo_http_take(b);
  kumo_http_free(b);
  while (!a->done)
    kumo_http_run(1);
  CHECK(strstr(a->error, "SECRET") == NULL);
  CHECK(strstr(a->error, "pw") == NULL);
  CHECK_HAS(a->error, "POST http://***@127.0.0.1:1/p?(query hidden)");
  x = kumo_http_next_done();
  CHECK(x == a);
  CHECK(kumo_http_next_done() == NULL);
  kumo_http_free(x);
  CHECK(kumo_http_pending() == 0);
  kumo_http_get_stats(&st);
  CHECK(st.requests == 2);
  CHECK(kumo_http_run(0) == 0);
}


static void test_shutdown (void) {
  char err[256];
  struct kumo_http_xfer *x = start("GET", "http://127.0.0.1:1/", NULL, 0, err);
  CHECK(x != NULL);
  CHECK(kumo_http_configure(4, 2) == 0);
  kumo_http_shutdown();  /* frees the transfer in flight */
  CHECK(kumo_http_pending() == 0);
  kumo_http_shutdown();  /* idempotent */
  CHECK(1);
}


int main (void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  test_validation();
  test_codenames();
  test_refused_and_queue();
  test_shutdown();
  curl_global_cleanup();
  return check_report("http_test");
}
