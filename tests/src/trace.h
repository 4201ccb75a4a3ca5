/* SPDX-License-Identifier: Apache-2.0 */
/*
** A text trace of XML events, shared by the xml and xmlscan unit tests:
** a start is written "<name a=v ...>"; each test writes its other events.
*/
#ifndef KUMO_TRACE_H
#define KUMO_TRACE_H

#include <string.h>

struct tracebuf {
  char buf[4096];
  size_t len;
};


/* Appends s[0..n) while it fits; the buffer stays '\0'-terminated. */
static void trace_put (struct tracebuf *t, const char *s, size_t n) {
  if (t->len + n < sizeof(t->buf)) {
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
  }
}


static void trace_start (struct tracebuf *t, const char *name,
                         const char **attrs) {
  int i;
  trace_put(t, "<", 1);
  trace_put(t, name, strlen(name));
  for (i = 0; attrs[i] != NULL; i += 2) {
    trace_put(t, " ", 1);
    trace_put(t, attrs[i], strlen(attrs[i]));
    trace_put(t, "=", 1);
    trace_put(t, attrs[i + 1], strlen(attrs[i + 1]));
  }
  trace_put(t, ">", 1);
}

#endif
