/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/xml.c: events, mixed text, limits, errors, escape. */
#include <stdlib.h>
#include <string.h>

#include "kumo/xml.h"
#include "check.h"
#include "trace.h"

/* Records events as "<name a=v>" and "</name:text>" in a string. */
struct trace {
  struct tracebuf tb;
  int stop_at;  /* stop on the Nth start (0: never) */
  int starts;
};


static int on_start (void *ud, const char *name, const char **attrs) {
  struct trace *t = (struct trace *)ud;
  trace_start(&t->tb, name, attrs);
  return ++t->starts == t->stop_at;
}


static int on_end (void *ud, const char *name, const char *text, size_t len) {
  struct trace *t = (struct trace *)ud;
  trace_put(&t->tb, "</", 2);
  trace_put(&t->tb, name, strlen(name));
  trace_put(&t->tb, ":", 1);
  trace_put(&t->tb, text, len);
  trace_put(&t->tb, ">", 1);
  return 0;
}


/* Parse 's' with limits; returns 0/-1, the trace in 't', error in 'err'. */
static int parse (const char *s, size_t max_size, int max_depth,
                  struct trace *t, char *err) {
  struct kumo_xml_limits lim;
  struct kumo_xml_handler h;
  struct kumo_xml *x;
  int rc;
  memset(&t->tb, 0, sizeof(t->tb));
  t->starts = 0;
  err[0] = '\0';
  lim.max_size = max_size;
  lim.max_depth = max_depth;
  h.start = on_start;
  h.end = on_end;
  h.ud = t;
  x = kumo_xml_new(&lim, &h);
  if (x == NULL)
    return -2;
  rc = kumo_xml_parse(x, s, strlen(s), err, 256);
  kumo_xml_free(x);
  return rc;
}


static void test_events (void) {
  struct trace t = {{{0}, 0}, 0, 0};
  char err[256];
  CHECK(parse("<a x=\"1\" y='2'>t1<b>in</b>t2<c/>&amp;&#x41;</a>", 0, 0, &t,
              err) == 0);
  CHECK_STR(t.tb.buf, "<a x=1 y=2><b></b:in><c></c:></a:t1t2&A>");
  CHECK(parse("<?xml version=\"1.0\"?>\n<!-- c --><r><![CDATA[<x>]]></r>", 0,
              0, &t, err) == 0);
  CHECK_STR(t.tb.buf, "<r></r:<x>>");
  CHECK(parse("<ns:a xmlns:ns=\"u\"><ns:b/></ns:a>", 0, 0, &t, err) == 0);
  CHECK_STR(t.tb.buf, "<ns:a xmlns:ns=u><ns:b></ns:b:></ns:a:>");
  /* siblings reuse a depth's buffer: no text bleeds across */
  CHECK(parse("<r><a>one</a><a>2</a><a></a></r>", 0, 0, &t, err) == 0);
  CHECK_STR(t.tb.buf, "<r><a></a:one><a></a:2><a></a:></r:>");
}


static void test_errors (void) {
  struct trace t = {{{0}, 0}, 0, 0};
  char err[256];
  CHECK(parse("<a>\n<b></a>", 0, 0, &t, err) == -1);
  CHECK_STR(err, "xml: line 2, column 6: mismatched tag");
  CHECK(parse("", 0, 0, &t, err) == -1);
  CHECK_STR(err, "xml: line 1, column 1: no element found");
  CHECK(parse("<a></a><b/>", 0, 0, &t, err) == -1);
  CHECK_HAS(err, "junk after document element");
  CHECK(parse("<a>&nope;</a>", 0, 0, &t, err) == -1);
  CHECK_HAS(err, "undefined entity");
  CHECK(parse("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", 0, 0, &t, err)
        == -1);
  CHECK_STR(err, "xml: line 1, column 13: DOCTYPE declarations are not "
                 "allowed");
  t.stop_at = 2;
  CHECK(parse("<a><b/></a>", 0, 0, &t, err) == -1);
  CHECK_STR(err, "xml: line 1, column 4: stopped by the handler");
  t.stop_at = 0;
}


static void test_limits (void) {
  struct trace t = {{{0}, 0}, 0, 0};
  char err[256];
  char *deep;
  int i;
  CHECK(parse("<a><b><c/></b></a>", 0, 3, &t, err) == 0);
  CHECK(parse("<a><b><c/></b></a>", 0, 2, &t, err) == -1);
  CHECK_STR(err, "xml: line 1, column 7: elements nested deeper than the "
                 "limit of 2");
  CHECK(parse("<a>12</a>", 9, 0, &t, err) == 0);
  CHECK(parse("<a>123</a>", 9, 0, &t, err) == -1);
  CHECK_STR(err, "xml: line 1, column 1: document of 10 bytes exceeds the "
                 "limit of 9 bytes");
  /* the default depth limit */
  deep = (char *)malloc(7 * 1000 + 1);
  deep[0] = '\0';
  for (i = 0; i < 1000; i++)
    strcat(deep, "<a>");
  for (i = 0; i < 1000; i++)
    strcat(deep, "</a>");
  CHECK(parse(deep, 0, 0, &t, err) == -1);
  CHECK_HAS(err, "limit of 128");
  free(deep);
}


static void test_escape (void) {
  const char *s = "a<b>&\"c'\rd";
  char out[64];
  size_t n = kumo_xml_escaped_len(s, strlen(s));
  CHECK(n == strlen("a&lt;b&gt;&amp;&quot;c&apos;&#xD;d"));
  kumo_xml_escape(s, strlen(s), out);
  out[n] = '\0';
  CHECK_STR(out, "a&lt;b&gt;&amp;&quot;c&apos;&#xD;d");
  CHECK(kumo_xml_escaped_len("plain", 5) == 5);
}


int main (void) {
  test_events();
  test_errors();
  test_limits();
  test_escape();
  return check_report("xml_test");
}
