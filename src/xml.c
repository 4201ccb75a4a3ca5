/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml: expat with limits. Direct text is kept per open element in
** one buffer per depth (reused by siblings), so mixed content such as
** "<a>x<b/>y</a>" gives 'a' the text "xy".
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "kumo/xml.h"


struct textbuf {
  char *p;
  size_t len, cap;
};

struct kumo_xml {
  XML_Parser parser;
  struct kumo_xml_handler h;
  size_t max_size;
  int max_depth;
  int depth;               /* open elements */
  struct textbuf *texts;   /* [max_depth], allocated on first use */
  const char *stop;        /* why we stopped expat, or NULL */
  char stopbuf[80];
  unsigned long stopline, stopcol;  /* where the event that stopped began */
  int used;
};


/* Stop expat with our own reason (a static or x->stopbuf string). */
static void halt (struct kumo_xml *x, const char *why) {
  if (x->stop == NULL) {
    x->stop = why;
    x->stopline = (unsigned long)XML_GetCurrentLineNumber(x->parser);
    x->stopcol = (unsigned long)XML_GetCurrentColumnNumber(x->parser);
  }
  XML_StopParser(x->parser, XML_FALSE);
}


static int text_append (struct textbuf *t, const char *s, size_t len) {
  if (t->cap - t->len < len) {
    size_t cap = t->cap ? t->cap : 64;
    char *p;
    while (cap - t->len < len)
      cap *= 2;
    p = (char *)realloc(t->p, cap);
    if (p == NULL)
      return -1;
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, len);
  t->len += len;
  return 0;
}


static void XMLCALL on_start (void *ud, const XML_Char *name,
                              const XML_Char **attrs) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  if (x->depth >= x->max_depth) {
    snprintf(x->stopbuf, sizeof(x->stopbuf),
             "elements nested deeper than the limit of %d", x->max_depth);
    halt(x, x->stopbuf);
    return;
  }
  x->texts[x->depth].len = 0;
  if (x->h.start != NULL && x->h.start(x->h.ud, name, attrs) != 0) {
    halt(x, "stopped by the handler");
    return;
  }
  x->depth++;
}


static void XMLCALL on_end (void *ud, const XML_Char *name) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  struct textbuf *t;
  if (x->depth <= 0)  /* cannot happen: expat checks the nesting */
    return;
  t = &x->texts[--x->depth];
  if (x->h.end != NULL && x->h.end(x->h.ud, name, t->p ? t->p : "",
                                   t->len) != 0)
    halt(x, "stopped by the handler");
  t->len = 0;
}


static void XMLCALL on_text (void *ud, const XML_Char *s, int len) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  if (x->depth > 0 && len > 0
      && text_append(&x->texts[x->depth - 1], s, (size_t)len) != 0)
    halt(x, "out of memory");
}


/* DTDs can declare entities that expand without bound: refuse them. */
static void XMLCALL on_doctype (void *ud, const XML_Char *name,
                                const XML_Char *sysid, const XML_Char *pubid,
                                int has_internal_subset) {
  (void)name; (void)sysid; (void)pubid; (void)has_internal_subset;
  halt((struct kumo_xml *)ud, "DOCTYPE declarations are not allowed");
}


struct kumo_xml *kumo_xml_new (const struct kumo_xml_limits *limits,
                               const struct kumo_xml_handler *h) {
  struct kumo_xml *x = (struct kumo_xml *)calloc(1, sizeof(*x));
  if (x == NULL)
    return NULL;
  x->max_size = limits && limits->max_size ? limits->max_size
                                           : KUMO_XML_MAX_SIZE;
  if (x->max_size > INT_MAX)
    x->max_size = INT_MAX;
  x->max_depth = limits && limits->max_depth > 0 ? limits->max_depth
                                                 : KUMO_XML_MAX_DEPTH;
  x->h = *h;
  x->texts = (struct textbuf *)calloc((size_t)x->max_depth,
                                      sizeof(struct textbuf));
  x->parser = XML_ParserCreate(NULL);
  if (x->texts == NULL || x->parser == NULL) {
    kumo_xml_free(x);
    return NULL;
  }
  XML_SetUserData(x->parser, x);
  XML_SetElementHandler(x->parser, on_start, on_end);
  XML_SetCharacterDataHandler(x->parser, on_text);
  XML_SetStartDoctypeDeclHandler(x->parser, on_doctype);
  return x;
}


void kumo_xml_free (struct kumo_xml *x) {
  int i;
  if (x == NULL)
    return;
  if (x->texts != NULL) {
    for (i = 0; i < x->max_depth; i++)
      free(x->texts[i].p);
    free(x->texts);
  }
  if (x->parser != NULL)
    XML_ParserFree(x->parser);
  free(x);
}


static void report (struct kumo_xml *x, const char *msg, char *err,
                    size_t errsize) {
  unsigned long line = (unsigned long)XML_GetCurrentLineNumber(x->parser);
  unsigned long col = (unsigned long)XML_GetCurrentColumnNumber(x->parser);
  snprintf(err, errsize, "xml: line %lu, column %lu: %s", line, col + 1, msg);
}


int kumo_xml_parse (struct kumo_xml *x, const char *s, size_t len,
                    char *err, size_t errsize) {
  if (x->used) {
    snprintf(err, errsize, "xml: line 1, column 1: parser already used");
    return -1;
  }
  x->used = 1;
  if (len > x->max_size) {
    snprintf(err, errsize, "xml: line 1, column 1: document of %zu bytes "
             "exceeds the limit of %zu bytes", len, x->max_size);
    return -1;
  }
  if (XML_Parse(x->parser, s, (int)len, 1) == XML_STATUS_OK)
    return 0;
  if (x->stop != NULL)
    snprintf(err, errsize, "xml: line %lu, column %lu: %s", x->stopline,
             x->stopcol + 1, x->stop);
  else
    report(x, XML_ErrorString(XML_GetErrorCode(x->parser)), err, errsize);
  return -1;
}


/* The entity for 'c', or NULL when it stands for itself. */
static const char *entity (char c) {
  switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    case '\r': return "&#xD;";  /* parsers turn a raw CR into LF */
    default: return NULL;
  }
}


size_t kumo_xml_escaped_len (const char *s, size_t len) {
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    const char *e = entity(s[i]);
    n += e ? strlen(e) : 1;
  }
  return n;
}


void kumo_xml_escape (const char *s, size_t len, char *out) {
  size_t i;
  for (i = 0; i < len; i++) {
    const char *e = entity(s[i]);
    if (e != NULL) {
      size_t n = strlen(e);
      memcpy(out, e, n);
      out += n;
    }
    else
      *out++ = s[i];
  }
}
