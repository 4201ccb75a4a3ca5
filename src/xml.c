/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml: expat with limits, behind a fast scanner (xmlscan.c) that
** reads the plain XML of AWS responses and declines the rest to expat.
** Direct text is kept per open element in one buffer per depth (reused
** by siblings), so mixed content such as "<a>x<b/>y</a>" gives 'a' the
** text "xy"; a text that is one piece of the document is not copied.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "kumo/xml.h"
#include "kumo/xmlscan.h"


struct textbuf {
  char *p;
  size_t len, cap;
  const char *ref;  /* the text is one piece still in the document */
};

struct kumo_xml {
  XML_Parser parser;       /* created when the scanner declines */
  struct kumo_xml_handler h;
  size_t max_size;
  int max_depth;
  int depth;               /* open elements */
  struct textbuf *texts;   /* [ntexts]: 'first', then grown with depth */
  int ntexts;
  struct textbuf first[16];
  const char *stop;        /* why we stopped, or NULL */
  char stopbuf[80];
  unsigned long stopline, stopcol;  /* where the event that stopped began */
  int used;
  int expat_only;
};


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


/* Room for one more depth of texts (up to max_depth). */
static int grow_texts (struct kumo_xml *x) {
  int n = x->ntexts * 2 < x->max_depth ? x->ntexts * 2 : x->max_depth;
  struct textbuf *t = (struct textbuf *)calloc((size_t)n, sizeof(*t));
  if (t == NULL)
    return -1;
  memcpy(t, x->texts, (size_t)x->ntexts * sizeof(*t));
  if (x->texts != x->first)
    free(x->texts);
  x->texts = t;
  x->ntexts = n;
  return 0;
}


/*
** The events, whichever reader delivers them. Each returns NULL, or why
** the parse stops (a static or x->stopbuf string).
*/
static const char *open_element (struct kumo_xml *x, const char *name,
                                 const char **attrs) {
  struct textbuf *t;
  if (x->depth >= x->max_depth) {
    snprintf(x->stopbuf, sizeof(x->stopbuf),
             "elements nested deeper than the limit of %d", x->max_depth);
    return x->stopbuf;
  }
  if (x->depth >= x->ntexts && grow_texts(x) != 0)
    return "out of memory";
  t = &x->texts[x->depth];
  t->len = 0;
  t->ref = NULL;
  if (x->h.start != NULL && x->h.start(x->h.ud, name, attrs) != 0)
    return "stopped by the handler";
  x->depth++;
  return NULL;
}


static const char *close_element (struct kumo_xml *x, const char *name) {
  struct textbuf *t;
  const char *text;
  if (x->depth <= 0)  /* cannot happen: both readers check the nesting */
    return NULL;
  t = &x->texts[--x->depth];
  text = t->ref ? t->ref : t->p ? t->p : "";
  if (x->h.end != NULL && x->h.end(x->h.ud, name, text, t->len) != 0)
    return "stopped by the handler";
  t->len = 0;
  t->ref = NULL;
  return NULL;
}


/* A piece of direct text; a single 'lasting' piece is not copied. */
static const char *add_text (struct kumo_xml *x, const char *s, size_t len,
                             int lasting) {
  struct textbuf *t;
  if (x->depth <= 0 || len == 0)
    return NULL;
  t = &x->texts[x->depth - 1];
  if (lasting && t->len == 0) {
    t->ref = s;
    t->len = len;
    return NULL;
  }
  if (t->ref != NULL) {  /* a second piece: copy the first */
    const char *first = t->ref;
    size_t n = t->len;
    t->ref = NULL;
    t->len = 0;
    if (text_append(t, first, n) != 0)
      return "out of memory";
  }
  return text_append(t, s, len) != 0 ? "out of memory" : NULL;
}


/* Stop expat with our own reason. */
static void halt (struct kumo_xml *x, const char *why) {
  if (x->stop == NULL) {
    x->stop = why;
    x->stopline = (unsigned long)XML_GetCurrentLineNumber(x->parser);
    x->stopcol = (unsigned long)XML_GetCurrentColumnNumber(x->parser);
  }
  XML_StopParser(x->parser, XML_FALSE);
}


static void XMLCALL on_start (void *ud, const XML_Char *name,
                              const XML_Char **attrs) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  const char *why = open_element(x, name, attrs);
  if (why != NULL)
    halt(x, why);
}


static void XMLCALL on_end (void *ud, const XML_Char *name) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  const char *why = close_element(x, name);
  if (why != NULL)
    halt(x, why);
}


static void XMLCALL on_text (void *ud, const XML_Char *s, int len) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  const char *why = len > 0 ? add_text(x, s, (size_t)len, 0) : NULL;
  if (why != NULL)
    halt(x, why);
}


/* DTDs can declare entities that expand without bound: refuse them. */
static void XMLCALL on_doctype (void *ud, const XML_Char *name,
                                const XML_Char *sysid, const XML_Char *pubid,
                                int has_internal_subset) {
  (void)name; (void)sysid; (void)pubid; (void)has_internal_subset;
  halt((struct kumo_xml *)ud, "DOCTYPE declarations are not allowed");
}


/* The scanner's events: a reason to stop is kept for the report. */
static int scan_start (void *ud, const char *name, const char **attrs) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  return (x->stop = open_element(x, name, attrs)) != NULL;
}


static int scan_text (void *ud, const char *s, size_t len, int lasting) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  return (x->stop = add_text(x, s, len, lasting)) != NULL;
}


static int scan_end (void *ud, const char *name) {
  struct kumo_xml *x = (struct kumo_xml *)ud;
  return (x->stop = close_element(x, name)) != NULL;
}


static XML_Parser new_expat (struct kumo_xml *x) {
  XML_Parser p = XML_ParserCreate(NULL);
  if (p == NULL)
    return NULL;
  XML_SetUserData(p, x);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  XML_SetStartDoctypeDeclHandler(p, on_doctype);
  return p;
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
  x->texts = x->first;
  x->ntexts = (int)(sizeof(x->first) / sizeof(x->first[0]));
  return x;
}


void kumo_xml_expat_only (struct kumo_xml *x) {
  x->expat_only = 1;
}


void kumo_xml_free (struct kumo_xml *x) {
  int i;
  if (x == NULL)
    return;
  for (i = 0; i < x->ntexts; i++)
    free(x->texts[i].p);
  if (x->texts != x->first)
    free(x->texts);
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


/* The scanner first; expat reads what it declines. Returns 0, 1 (declined)
** or -1 (stopped: x->stop and its position are set). */
static int scan (struct kumo_xml *x, const char *s, size_t len) {
  struct kumo_xmlscan_handler h;
  unsigned long line = 0, col = 0;
  int rc;
  h.start = scan_start;
  h.text = scan_text;
  h.end = scan_end;
  h.ud = x;
  rc = kumo_xmlscan(s, len, x->max_depth, &h, &line, &col);
  if (rc == KUMO_XMLSCAN_DONE)
    return 0;
  if (rc == KUMO_XMLSCAN_DECLINED)
    return 1;
  x->stopline = line;
  x->stopcol = col - 1;
  return -1;
}


int kumo_xml_parse (struct kumo_xml *x, const char *s, size_t len,
                    char *err, size_t errsize) {
  int rc;
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
  rc = x->expat_only ? 1 : scan(x, s, len);
  if (rc == 0)
    return 0;
  if (rc == 1) {
    x->parser = new_expat(x);
    if (x->parser == NULL) {
      snprintf(err, errsize, "xml: line 1, column 1: out of memory");
      return -1;
    }
    if (XML_Parse(x->parser, s, (int)len, 1) == XML_STATUS_OK)
      return 0;
  }
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
