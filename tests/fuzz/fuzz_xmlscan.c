/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-sources: src/xml.c src/xmlscan.c */
/*
** libFuzzer target for src/xmlscan.c, differential: every input is read
** by kumo_xml as shipped (scanner, then expat for what it declines) and by
** expat alone. The result, the error message and every event (names,
** attributes, direct text) must be the same. A document the scanner reads
** must be one expat accepts, with the same events.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kumo/xml.h"
#include "kumo/xmlscan.h"

struct trace {
  char *buf;
  size_t len, cap;
};


static void put (struct trace *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (t->len + n + 1 > cap)
      cap *= 2;
    t->buf = (char *)realloc(t->buf, cap);
    if (t->buf == NULL)
      abort();
    t->cap = cap;
  }
  memcpy(t->buf + t->len, s, n);
  t->len += n;
}


/* Lengths before each field, so no byte in a field can fake a boundary. */
static void field (struct trace *t, char tag, const char *s, size_t n) {
  char head[24];
  int k = snprintf(head, sizeof(head), "%c%zu:", tag, n);
  put(t, head, (size_t)k);
  put(t, s, n);
}


static int on_start (void *ud, const char *name, const char **attrs) {
  struct trace *t = (struct trace *)ud;
  int i;
  field(t, 'S', name, strlen(name));
  for (i = 0; attrs[i] != NULL; i += 2) {
    field(t, 'A', attrs[i], strlen(attrs[i]));
    field(t, 'V', attrs[i + 1], strlen(attrs[i + 1]));
  }
  return 0;
}


static int on_end (void *ud, const char *name, const char *text, size_t len) {
  struct trace *t = (struct trace *)ud;
  field(t, 'E', name, strlen(name));
  field(t, 'T', text, len);
  return 0;
}


static int read_doc (const uint8_t *data, size_t size,
                     const struct kumo_xml_limits *lim, int expat_only,
                     struct trace *t, char *err) {
  struct kumo_xml_handler h;
  struct kumo_xml *x;
  int rc;
  h.start = on_start;
  h.end = on_end;
  h.ud = t;
  x = kumo_xml_new(lim, &h);
  if (x == NULL)
    abort();
  if (expat_only)
    kumo_xml_expat_only(x);
  err[0] = '\0';
  rc = kumo_xml_parse(x, (const char *)data, size, err, 256);
  kumo_xml_free(x);
  return rc;
}


static int no_start (void *ud, const char *name, const char **attrs) {
  (void)ud; (void)name; (void)attrs;
  return 0;
}

static int no_text (void *ud, const char *s, size_t len, int lasting) {
  (void)ud; (void)s; (void)len; (void)lasting;
  return 0;
}

static int no_end (void *ud, const char *name) {
  (void)ud; (void)name;
  return 0;
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  struct kumo_xml_limits lim = {0, 0};
  struct kumo_xmlscan_handler sh = { no_start, no_text, no_end, NULL };
  struct trace a = {NULL, 0, 0}, b = {NULL, 0, 0};
  char ea[256], eb[256];
  unsigned long line, col;
  int ra, rb, scanned;
  if (size > 0 && data[0] < 8)  /* sometimes a tight depth limit */
    lim.max_depth = data[0] + 1;
  ra = read_doc(data, size, &lim, 0, &a, ea);
  rb = read_doc(data, size, &lim, 1, &b, eb);
  if (ra != rb || strcmp(ea, eb) != 0 || a.len != b.len
      || (a.len > 0 && memcmp(a.buf, b.buf, a.len) != 0))
    abort();
  scanned = kumo_xmlscan((const char *)data, size,
                         lim.max_depth ? lim.max_depth : KUMO_XML_MAX_DEPTH,
                         &sh, &line, &col);
  if (scanned == KUMO_XMLSCAN_DONE && rb != 0)
    abort();  /* the scanner read what expat refuses */
  if (scanned == KUMO_XMLSCAN_STOPPED)
    abort();
  free(a.buf);
  free(b.buf);
  return 0;
}
