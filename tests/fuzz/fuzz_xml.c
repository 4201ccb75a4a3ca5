/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-sources: src/xml.c src/xmlscan.c */
/*
** libFuzzer target for src/xml.c: any bytes, with limits taken from the
** first byte, through the decoder with callbacks that check the event
** nesting; then the escaper, whose output must parse back to the input.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kumo/xml.h"

struct state {
  int depth;
  size_t text;
};


static int on_start (void *ud, const char *name, const char **attrs) {
  struct state *s = (struct state *)ud;
  int i;
  if (name[0] == '\0')
    abort();
  for (i = 0; attrs[i] != NULL; i += 2)
    if (attrs[i + 1] == NULL)
      abort();
  s->depth++;
  return 0;
}


static int on_end (void *ud, const char *name, const char *text, size_t len) {
  struct state *s = (struct state *)ud;
  (void)name;
  if (s->depth <= 0 || (len > 0 && text == NULL))
    abort();
  s->text += len;
  s->depth--;
  return 0;
}


static int keep_text (void *ud, const char *name, const char *text,
                      size_t len) {
  char **out = (char **)ud;
  (void)name;
  *out = (char *)malloc(len + 1);
  memcpy(*out, text, len);
  (*out)[len] = '\0';
  return 0;
}


static int no_start (void *ud, const char *name, const char **attrs) {
  (void)ud; (void)name; (void)attrs;
  return 0;
}


/* escape(s) inside <a>...</a> must decode to s (for NUL-free UTF-8). */
static void check_escape (const uint8_t *data, size_t size) {
  struct kumo_xml_handler h;
  struct kumo_xml *x;
  char err[256], *doc, *got = NULL;
  size_t n;
  size_t i;
  for (i = 0; i < size; i++)  /* only printable ASCII, tab and LF survive */
    if (data[i] < 0x20 ? (data[i] != '\t' && data[i] != '\n')
                       : data[i] > 0x7e)
      return;
  n = kumo_xml_escaped_len((const char *)data, size);
  doc = (char *)malloc(n + 8);
  memcpy(doc, "<a>", 3);
  kumo_xml_escape((const char *)data, size, doc + 3);
  memcpy(doc + 3 + n, "</a>", 4);
  h.start = no_start;
  h.end = keep_text;
  h.ud = &got;
  x = kumo_xml_new(NULL, &h);
  if (kumo_xml_parse(x, doc, n + 7, err, sizeof(err)) != 0
      || got == NULL || strlen(got) != size || memcmp(got, data, size) != 0)
    abort();
  kumo_xml_free(x);
  free(got);
  free(doc);
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  struct kumo_xml_limits lim = {0, 0};
  struct kumo_xml_handler h;
  struct state st = {0, 0};
  struct kumo_xml *x;
  char err[256];
  if (size > 0 && data[0] < 16) {  /* sometimes tight limits */
    lim.max_depth = data[0] + 1;
    lim.max_size = (size_t)data[0] * 64 + 1;
  }
  h.start = on_start;
  h.end = on_end;
  h.ud = &st;
  x = kumo_xml_new(&lim, &h);
  if (x == NULL)
    return 0;
  if (kumo_xml_parse(x, (const char *)data, size, err, sizeof(err)) == 0) {
    if (st.depth != 0)
      abort();
  }
  else if (strncmp(err, "xml: line ", 10) != 0)
    abort();
  kumo_xml_free(x);
  check_escape(data, size);
  return 0;
}
