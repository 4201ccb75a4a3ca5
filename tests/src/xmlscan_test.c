/* SPDX-License-Identifier: Apache-2.0 */
/*
** Unit tests of src/xmlscan.c: what it reads (events, decoded text and
** attributes, which pieces point into the document), what it declines
** (with no event delivered) and where a stopping handler is reported.
*/
#include <stdio.h>
#include <string.h>

#include "kumo/xmlscan.h"
#include "check.h"
#include "trace.h"

/* Events as "<name a=v>", "[text]" ("{text}" when not lasting), "</name>". */
struct trace {
  struct tracebuf tb;
  int events;
  int stop_at;   /* stop on the Nth event (0: never) */
  const char *doc;
  size_t doclen;
  int outside;   /* a lasting piece pointed outside the document */
};


static int on_start (void *ud, const char *name, const char **attrs) {
  struct trace *t = (struct trace *)ud;
  trace_start(&t->tb, name, attrs);
  return ++t->events == t->stop_at;
}


static int on_text (void *ud, const char *s, size_t len, int lasting) {
  struct trace *t = (struct trace *)ud;
  trace_put(&t->tb, lasting ? "[" : "{", 1);
  trace_put(&t->tb, s, len);
  trace_put(&t->tb, lasting ? "]" : "}", 1);
  if (lasting && (s < t->doc || s + len > t->doc + t->doclen))
    t->outside = 1;
  return ++t->events == t->stop_at;
}


static int on_end (void *ud, const char *name) {
  struct trace *t = (struct trace *)ud;
  trace_put(&t->tb, "</", 2);
  trace_put(&t->tb, name, strlen(name));
  trace_put(&t->tb, ">", 1);
  return ++t->events == t->stop_at;
}


static int scan (const char *doc, int max_depth, int stop_at,
                 struct trace *t, unsigned long *line, unsigned long *col) {
  struct kumo_xmlscan_handler h = { on_start, on_text, on_end, NULL };
  memset(t, 0, sizeof(*t));
  t->stop_at = stop_at;
  t->doc = doc;
  t->doclen = strlen(doc);
  h.ud = t;
  *line = *col = 0;
  return kumo_xmlscan(doc, strlen(doc), max_depth, &h, line, col);
}


static void test_reads (void) {
  struct trace t;
  unsigned long line, col;
  CHECK(scan("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<R xmlns=\"http://x/\"><a>one</a><b/><c k='v' j = \"w\" >"
             "t</c ></R>\n", 128, 0, &t, &line, &col) == KUMO_XMLSCAN_DONE);
  CHECK_STR(t.tb.buf, "<R xmlns=http://x/><a>[one]</a><b></b>"
                   "<c k=v j=w>[t]</c></R>");
  /* references are separate pieces that do not point into the document */
  CHECK(scan("<a>x&lt;&#65;&#x20AC;y</a>", 128, 0, &t, &line, &col)
        == KUMO_XMLSCAN_DONE);
  CHECK_STR(t.tb.buf, "<a>[x]{<}{A}{\xe2\x82\xac}[y]</a>");
  CHECK(!t.outside);
  /* attribute values: references decoded, literal tab and LF become spaces */
  CHECK(scan("<a v=\"1&amp;\t2\n&#9;\"/>", 128, 0, &t, &line, &col)
        == KUMO_XMLSCAN_DONE);
  CHECK_STR(t.tb.buf, "<a v=1& 2 \t></a>");
  /* UTF-8 text, ']' and '>' on their own */
  CHECK(scan("<a>\xc3\xa9\xf0\x9f\x98\x80]>]]</a>", 128, 0, &t, &line, &col)
        == KUMO_XMLSCAN_DONE);
  CHECK_STR(t.tb.buf, "<a>[\xc3\xa9\xf0\x9f\x98\x80]>]]]</a>");
  CHECK(scan("<a><b><c/></b></a>", 3, 0, &t, &line, &col)
        == KUMO_XMLSCAN_DONE);
}


/* Each is declined as a whole: no event reaches the handler. */
static void test_declines (void) {
  static const char *const docs[] = {
    "", "   ", "text", "<a>", "<a></b>", "<a></a><b/>", "<a></a>x",
    "<!-- c --><a/>", "<a><!-- c --></a>", "<a><![CDATA[x]]></a>",
    "<!DOCTYPE a><a/>", "<?pi x?><a/>", "<a><?pi?></a>",
    "<a>\r\n</a>", "<a>\x01</a>", "<a>]]></a>", "<a>&nope;</a>",
    "<a>&#0;</a>", "<a>&#xFFFE;</a>", "<a>&#x110000;</a>", "<a>&#X41;</a>",
    "<a>&amp</a>", "<a>\xef\xbf\xbe</a>", "<a>\xed\xa0\x80</a>",
    "<a>\xc0\xaf</a>", "<a>\xf4\x90\x80\x80</a>", "<a>\xc3</a>",
    "<a x='1' x='2'/>", "<a x='1'y='2'/>", "<a x=1/>", "<a x='<'/>",
    "<\xc3\xa9/>", "<1a/>", "\xef\xbb\xbf<a/>",
    "<?xml version=\"1.1\"?><a/>", "<?xml version=\"1.0\" encoding=\"latin1\"?><a/>",
    "<?xml version=\"1.0\"?><?xml version=\"1.0\"?><a/>", " <?xml version=\"1.0\"?><a/>",
  };
  struct trace t;
  unsigned long line, col;
  size_t i;
  for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    int rc = scan(docs[i], 128, 0, &t, &line, &col);
    CHECK(rc == KUMO_XMLSCAN_DECLINED);
    CHECK(t.events == 0);
    if (rc != KUMO_XMLSCAN_DECLINED || t.events != 0)
      fprintf(stderr, "  document %zu: '%s'\n", i, docs[i]);
  }
  /* deeper than the limit: declined, expat reports it */
  CHECK(scan("<a><b><c/></b></a>", 2, 0, &t, &line, &col)
        == KUMO_XMLSCAN_DECLINED);
  CHECK(t.events == 0);
}


static void test_stops (void) {
  struct trace t;
  unsigned long line, col;
  CHECK(scan("<a>\n  <b/>\xc3\xa9<c/></a>", 128, 3, &t, &line, &col)
        == KUMO_XMLSCAN_STOPPED);
  CHECK(line == 2 && col == 3);  /* the '<' of <b/> */
  CHECK(scan("<a>\n  <b/>\xc3\xa9<c/></a>", 128, 6, &t, &line, &col)
        == KUMO_XMLSCAN_STOPPED);
  CHECK(line == 2 && col == 8);  /* characters, not bytes: after the é */
  CHECK_STR(t.tb.buf, "<a>[\n  ]<b></b>[\xc3\xa9]<c>");
}


/* Over MAX_EVENTS (1024) events the document is read again rather than
** replayed: the same events, and a stop reported at the same place. */
static void test_many_events (void) {
  static char doc[8192];
  struct kumo_xmlscan_handler h = { on_start, on_text, on_end, NULL };
  struct trace t;
  unsigned long line, col;
  size_t n = 0;
  int i;
  n += (size_t)sprintf(doc + n, "<r>");
  for (i = 0; i < 1100; i++)
    n += (size_t)sprintf(doc + n, "<b/>");
  n += (size_t)sprintf(doc + n, "x&amp;</r>");
  memset(&t, 0, sizeof(t));
  t.doc = doc;
  t.doclen = n;
  h.ud = &t;
  CHECK(kumo_xmlscan(doc, n, 128, &h, &line, &col) == KUMO_XMLSCAN_DONE);
  CHECK(t.events == 1 + 2 * 1100 + 2 + 1);
  /* stop at the 1000th <b/>'s end */
  CHECK(scan(doc, 128, 1 + 2 * 1000, &t, &line, &col) == KUMO_XMLSCAN_STOPPED);
  CHECK(line == 1 && col == 4 + 4 * 999);
}


int main (void) {
  test_many_events();
  test_reads();
  test_declines();
  test_stops();
  return check_report("xmlscan_test");
}
