/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml scanner (see kumo/xmlscan.h). expat costs about 20 us on a 4 KB
** AWS response, more than the whole per-call budget of the client, while
** such responses use a small part of XML. This reads that part only and
** declines the rest, so expat stays the reader of record: for every
** document this scanner reads, its events equal expat's (fuzz_xmlscan
** checks it), and every error message is expat's.
**
** The whole document is checked before any event is delivered, so a
** handler never sees a prefix of a document that expat then reads again.
** The check records the events (up to MAX_EVENTS, positions into the
** document) and they are replayed; a document with more events is read
** a second time with the same code, delivering them.
*/
#include <limits.h>
#include <string.h>

#include "kumo/xmlscan.h"

#define MAX_DEPTH 256       /* deeper documents are declined */
#define NAMES_SIZE 4096     /* names of the open elements, '\0'-ended */
#define ATTRS_SIZE 2048     /* one tag's decoded attributes */
#define MAX_ATTRS 16
#define MAX_EVENTS 1024     /* recorded by the check; more: read again */

/* Byte classes. */
#define C_NAME1 1   /* may start a name */
#define C_NAME 2    /* may continue a name */
#define C_TEXT 4    /* stands for itself in text and attribute values */
#define C_SPACE 8   /* white space other than CR */
#define C_PLAIN 16  /* C_TEXT, and ends no run in text (not ']') */

enum { EV_START, EV_END, EV_TEXT, EV_REF };

#define EV_SELFCLOSE 1
#define EV_ATTRS 2

struct event {
  unsigned char type;
  unsigned char n;          /* EV_START: EV_* flags; EV_REF: bytes in ref */
  char ref[4];              /* EV_REF: the decoded character */
  unsigned off;             /* where it begins in the document */
  unsigned len;             /* EV_START: name length; EV_TEXT: bytes */
};

struct scan {
  const unsigned char *p, *end, *doc;
  int emit;                 /* deliver events as they are read */
  struct event *ev;         /* the check's record, while 'nev' <= 'maxev' */
  int nev, maxev;
  int max_depth;
  int depth;
  const struct kumo_xmlscan_handler *h;
  const unsigned char *stop_at;        /* the event that stopped */
  size_t nameoff[MAX_DEPTH + 1];       /* start of each open name */
  size_t namelen;                      /* bytes used in 'names' */
  char names[NAMES_SIZE];
  char attrbuf[ATTRS_SIZE];
  const char *attrs[2 * MAX_ATTRS + 1];
};

/* Internal outcomes: DONE, DECLINED and STOPPED, as in the header. */
#define OK KUMO_XMLSCAN_DONE
#define NO KUMO_XMLSCAN_DECLINED
#define STOP KUMO_XMLSCAN_STOPPED

/* Byte classes of ASCII; bytes >= 0x80 have none (UTF-8 is checked). */
static const unsigned char cls[256] = {
   0,  0,  0,  0,  0,  0,  0,  0,  0, 28, 28,  0,  0,  0,  0,  0,  /* 00 */
   0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 10 */
  28, 20, 20, 20, 20, 20,  0, 20, 20, 20, 20, 20, 20, 22, 22, 20,  /* 20 */
  22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 23, 20,  0, 20, 20, 20,  /* 30 */
  20, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,  /* 40 */
  23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 20, 20,  4, 20, 23,  /* 50 */
  20, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,  /* 60 */
  23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 20, 20, 20, 20, 20,  /* 70 */
};


/*
** Length of the well-formed UTF-8 sequence at p (a byte >= 0x80) that is
** an XML character, or 0. U+FFFE and U+FFFF are not; surrogates are not
** UTF-8.
*/
static size_t utf8_len (const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t left = (size_t)(end - p);
  if (c >= 0xc2 && c <= 0xdf)
    return left >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    if (left < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
      return 0;
    if (c == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
      return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    if (left < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80
        || (p[3] & 0xc0) != 0x80)
      return 0;
    return 4;
  }
  return 0;
}


/* Writes code point u (a valid XML character) as UTF-8; returns bytes. */
static size_t utf8_put (unsigned long u, char *out) {
  if (u < 0x80) {
    out[0] = (char)u;
    return 1;
  }
  if (u < 0x800) {
    out[0] = (char)(0xc0 | (u >> 6));
    out[1] = (char)(0x80 | (u & 0x3f));
    return 2;
  }
  if (u < 0x10000) {
    out[0] = (char)(0xe0 | (u >> 12));
    out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
    out[2] = (char)(0x80 | (u & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (u >> 18));
  out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
  out[3] = (char)(0x80 | (u & 0x3f));
  return 4;
}


static int is_xml_char (unsigned long u) {
  return u == 0x9 || u == 0xa || u == 0xd || (u >= 0x20 && u <= 0xd7ff)
         || (u >= 0xe000 && u <= 0xfffd) || (u >= 0x10000 && u <= 0x10ffff);
}


static int hexval (unsigned c) {
  if (c >= '0' && c <= '9') return (int)(c - '0');
  if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
  return -1;
}


/*
** The reference at sc->p ('&'): writes its UTF-8 into out (4 bytes at
** most), sets *n, moves past the ';'. Returns OK or NO.
*/
static int reference (struct scan *sc, char *out, size_t *n) {
  const unsigned char *p = sc->p + 1, *end = sc->end;
  const unsigned char *semi = (const unsigned char *)memchr(p, ';',
    (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
  size_t len;
  if (semi == NULL)
    return NO;
  len = (size_t)(semi - p);
  sc->p = semi + 1;
  if (len >= 2 && p[0] == '#') {
    unsigned long u = 0;
    size_t i = 1;
    int hex = p[1] == 'x';
    if (hex)
      i = 2;
    if (i >= len || len - i > 7)
      return NO;
    for (; i < len; i++) {
      int d = hex ? hexval(p[i]) : (p[i] >= '0' && p[i] <= '9' ? p[i] - '0'
                                                               : -1);
      if (d < 0)
        return NO;
      u = u * (hex ? 16 : 10) + (unsigned long)d;
    }
    if (!is_xml_char(u))
      return NO;
    *n = utf8_put(u, out);
    return OK;
  }
  *n = 1;
  if (len == 2 && p[0] == 'l' && p[1] == 't') out[0] = '<';
  else if (len == 2 && p[0] == 'g' && p[1] == 't') out[0] = '>';
  else if (len == 3 && memcmp(p, "amp", 3) == 0) out[0] = '&';
  else if (len == 4 && memcmp(p, "quot", 4) == 0) out[0] = '"';
  else if (len == 4 && memcmp(p, "apos", 4) == 0) out[0] = '\'';
  else return NO;
  return OK;
}


static int skip_space (struct scan *sc) {
  const unsigned char *p0 = sc->p;
  while (sc->p < sc->end && (cls[*sc->p] & C_SPACE))
    sc->p++;
  return sc->p > p0;
}


/* A name at sc->p: sets *len and moves past it. Returns OK or NO. */
static int name (struct scan *sc, size_t *len) {
  const unsigned char *p = sc->p;
  if (p >= sc->end || !(cls[*p] & C_NAME1))
    return NO;
  p++;
  while (p < sc->end && (cls[*p] & C_NAME))
    p++;
  *len = (size_t)(p - sc->p);
  sc->p = p;
  return OK;
}


/*
** The XML declaration, when the document starts with one; only
** version 1.0, encoding UTF-8 and standalone are taken.
*/
static int declaration (struct scan *sc) {
  static const char *const opt[] = { "encoding", "standalone" };
  int i;
  if ((size_t)(sc->end - sc->p) < 6 || memcmp(sc->p, "<?xml", 5) != 0)
    return OK;
  sc->p += 5;
  if (!skip_space(sc) || (size_t)(sc->end - sc->p) < 13
      || (memcmp(sc->p, "version=\"1.0\"", 13) != 0
          && memcmp(sc->p, "version='1.0'", 13) != 0))
    return NO;
  sc->p += 13;
  for (i = 0; i < 2; i++) {
    const unsigned char *save = sc->p;
    size_t n = strlen(opt[i]), vlen;
    unsigned char q;
    const unsigned char *v;
    if (!skip_space(sc) || (size_t)(sc->end - sc->p) < n + 3
        || memcmp(sc->p, opt[i], n) != 0 || sc->p[n] != '=') {
      sc->p = save;
      continue;
    }
    sc->p += n + 1;
    q = *sc->p++;
    if (q != '"' && q != '\'')
      return NO;
    v = sc->p;
    while (sc->p < sc->end && *sc->p != q)
      sc->p++;
    if (sc->p >= sc->end)
      return NO;
    vlen = (size_t)(sc->p - v);
    sc->p++;
    if (i == 0 ? !(vlen == 5 && (memcmp(v, "UTF-8", 5) == 0
                                 || memcmp(v, "utf-8", 5) == 0))
               : !((vlen == 3 && memcmp(v, "yes", 3) == 0)
                   || (vlen == 2 && memcmp(v, "no", 2) == 0)))
      return NO;
  }
  skip_space(sc);
  if ((size_t)(sc->end - sc->p) < 2 || sc->p[0] != '?' || sc->p[1] != '>')
    return NO;
  sc->p += 2;
  return OK;
}


/* A start tag's attributes, up to its '>' or "/>" (then *selfclose). */
static int attributes (struct scan *sc, int *selfclose) {
  size_t used = 0;
  int n = 0, i;
  for (;;) {
    int spaced = skip_space(sc);
    size_t nlen;
    const unsigned char *nm;
    unsigned char q;
    if (sc->p >= sc->end)
      return NO;
    if (*sc->p == '>') {
      sc->p++;
      *selfclose = 0;
      break;
    }
    if (*sc->p == '/') {
      if (sc->p + 1 >= sc->end || sc->p[1] != '>')
        return NO;
      sc->p += 2;
      *selfclose = 1;
      break;
    }
    nm = sc->p;
    if (!spaced || n == MAX_ATTRS || name(sc, &nlen) != OK)
      return NO;
    for (i = 0; i < n; i++)  /* a repeated name is an error: expat says so */
      if (strlen(sc->attrs[2 * i]) == nlen
          && memcmp(sc->attrs[2 * i], nm, nlen) == 0)
        return NO;
    if (used + nlen + 1 > ATTRS_SIZE)
      return NO;
    sc->attrs[2 * n] = sc->attrbuf + used;
    memcpy(sc->attrbuf + used, nm, nlen);
    used += nlen;
    sc->attrbuf[used++] = '\0';
    skip_space(sc);
    if (sc->p >= sc->end || *sc->p != '=')
      return NO;
    sc->p++;
    skip_space(sc);
    if (sc->p >= sc->end || (*sc->p != '"' && *sc->p != '\''))
      return NO;
    q = *sc->p++;
    sc->attrs[2 * n + 1] = sc->attrbuf + used;
    for (;;) {
      char buf[4];
      size_t k = 1;
      unsigned c;
      if (sc->p >= sc->end)
        return NO;
      c = *sc->p;
      if (c == q) {
        sc->p++;
        break;
      }
      if (cls[c] & C_TEXT) {  /* literal white space becomes a space */
        buf[0] = (cls[c] & C_SPACE) ? ' ' : (char)c;
        sc->p++;
      }
      else if (c == '&') {
        if (reference(sc, buf, &k) != OK)
          return NO;
      }
      else if (c >= 0x80 && (k = utf8_len(sc->p, sc->end)) != 0) {
        memcpy(buf, sc->p, k);
        sc->p += k;
      }
      else
        return NO;
      if (used + k + 1 > ATTRS_SIZE)
        return NO;
      memcpy(sc->attrbuf + used, buf, k);
      used += k;
    }
    sc->attrbuf[used++] = '\0';
    n++;
  }
  sc->attrs[2 * n] = NULL;
  return OK;
}


/* Notes an event of the check (recording stops for good when full). */
static struct event *record (struct scan *sc, int type,
                             const unsigned char *at, size_t len) {
  struct event *e;
  if (sc->emit || sc->nev > sc->maxev)
    return NULL;
  if (sc->nev == sc->maxev) {
    sc->nev++;  /* overflow: the events will be read again */
    return NULL;
  }
  e = &sc->ev[sc->nev++];
  e->type = (unsigned char)type;
  e->n = 0;
  e->off = (unsigned)(at - sc->doc);
  e->len = (unsigned)len;
  return e;
}


/* Opens an element: its name on the stack of open names. */
static int push_name (struct scan *sc, const unsigned char *nm, size_t nlen) {
  if (sc->depth >= sc->max_depth || sc->namelen + nlen + 1 > NAMES_SIZE)
    return NO;
  sc->nameoff[sc->depth++] = sc->namelen;
  memcpy(sc->names + sc->namelen, nm, nlen);
  sc->namelen += nlen;
  sc->names[sc->namelen++] = '\0';
  return OK;
}


static void pop_name (struct scan *sc) {
  sc->namelen = sc->nameoff[--sc->depth];
}


/* The start tag at sc->p ('<' then a name char). */
static int start_tag (struct scan *sc) {
  const unsigned char *tag = sc->p;
  const unsigned char *nm = ++sc->p;
  struct event *e;
  size_t nlen;
  int selfclose;
  if (name(sc, &nlen) != OK || attributes(sc, &selfclose) != OK
      || push_name(sc, nm, nlen) != OK)
    return NO;
  if ((e = record(sc, EV_START, tag, nlen)) != NULL)
    e->n = (unsigned char)((selfclose ? EV_SELFCLOSE : 0)
                           | (sc->attrs[0] != NULL ? EV_ATTRS : 0));
  if (sc->emit) {
    const char *nmz = sc->names + sc->nameoff[sc->depth - 1];
    if (sc->h->start(sc->h->ud, nmz, sc->attrs) != 0) {
      sc->stop_at = tag;
      return STOP;
    }
    if (selfclose && sc->h->end(sc->h->ud, nmz) != 0) {
      sc->stop_at = tag;
      return STOP;
    }
  }
  if (selfclose)
    pop_name(sc);
  return OK;
}


/* The end tag at sc->p ("</"); it must close the open element. */
static int end_tag (struct scan *sc) {
  const unsigned char *tag = sc->p;
  const char *open;
  size_t nlen;
  if (sc->depth == 0)
    return NO;
  open = sc->names + sc->nameoff[sc->depth - 1];
  nlen = sc->namelen - sc->nameoff[sc->depth - 1] - 1;
  sc->p += 2;
  if ((size_t)(sc->end - sc->p) <= nlen || memcmp(sc->p, open, nlen) != 0
      || (cls[sc->p[nlen]] & C_NAME))
    return NO;
  sc->p += nlen;
  skip_space(sc);
  if (sc->p >= sc->end || *sc->p != '>')
    return NO;
  sc->p++;
  record(sc, EV_END, tag, 0);
  if (sc->emit && sc->h->end(sc->h->ud, open) != 0) {
    sc->stop_at = tag;
    return STOP;
  }
  pop_name(sc);
  return OK;
}


static int emit_text (struct scan *sc, const unsigned char *s, size_t len) {
  if (len > 0)
    record(sc, EV_TEXT, s, len);
  if (sc->emit && len > 0
      && sc->h->text(sc->h->ud, (const char *)s, len, 1) != 0) {
    sc->stop_at = s;
    return STOP;
  }
  return OK;
}


/* Text up to the next tag: runs of plain bytes and references. */
static int text (struct scan *sc) {
  for (;;) {
    const unsigned char *run = sc->p;
    const unsigned char *p = sc->p, *end = sc->end;
    int rc;
    for (;;) {
      while (p < end && (cls[*p] & C_PLAIN))
        p++;
      if (p >= end)
        break;
      if (*p == ']') {  /* "]]>" may not appear in text */
        if (end - p >= 3 && p[1] == ']' && p[2] == '>')
          return NO;
        p++;
      }
      else if (*p >= 0x80) {
        size_t k = utf8_len(p, end);
        if (k == 0)
          return NO;
        p += k;
      }
      else
        break;
    }
    sc->p = p;
    if ((rc = emit_text(sc, run, (size_t)(p - run))) != OK)
      return rc;
    if (p < end && *p == '&') {
      char buf[4];
      size_t k;
      const unsigned char *at = p;
      struct event *e;
      if (reference(sc, buf, &k) != OK)
        return NO;
      if ((e = record(sc, EV_REF, at, 0)) != NULL) {
        memcpy(e->ref, buf, k);
        e->n = (unsigned char)k;
      }
      if (sc->emit && sc->h->text(sc->h->ud, buf, k, 0) != 0) {
        sc->stop_at = at;
        return STOP;
      }
      continue;
    }
    return p < end && *p != '<' ? NO : OK;
  }
}


static int document (struct scan *sc) {
  int rc;
  sc->depth = 0;
  sc->namelen = 0;
  if (declaration(sc) != OK)
    return NO;
  skip_space(sc);
  if (sc->p >= sc->end || *sc->p != '<')
    return NO;
  do {
    if (sc->p >= sc->end)
      return NO;  /* an element left open */
    /* sc->p is at '<' */
    if (sc->p + 1 >= sc->end)
      return NO;
    if (sc->p[1] == '/')
      rc = end_tag(sc);
    else if (cls[sc->p[1]] & C_NAME1)
      rc = start_tag(sc);
    else
      return NO;  /* comments, CDATA, PIs, DOCTYPE: expat's */
    if (rc != OK)
      return rc;
    if (sc->depth > 0 && (rc = text(sc)) != OK)
      return rc;
  } while (sc->depth > 0);
  skip_space(sc);
  return sc->p == sc->end ? OK : NO;
}


/* The start of an element recorded by the check, delivered. */
static int replay_start (struct scan *sc, const struct event *e) {
  const unsigned char *nm = sc->doc + e->off + 1;
  const char *nmz;
  int selfclose;
  if (push_name(sc, nm, e->len) != OK)
    return NO;  /* cannot be: the check pushed it */
  nmz = sc->names + sc->nameoff[sc->depth - 1];
  sc->attrs[0] = NULL;
  if (e->n & EV_ATTRS) {  /* decoded again: the check kept only the last tag's */
    sc->p = nm + e->len;
    if (attributes(sc, &selfclose) != OK)
      return NO;
  }
  if (sc->h->start(sc->h->ud, nmz, sc->attrs) != 0)
    return STOP;
  if (e->n & EV_SELFCLOSE) {
    if (sc->h->end(sc->h->ud, nmz) != 0)
      return STOP;
    pop_name(sc);
  }
  return OK;
}


/* Delivers the events the check recorded. */
static int replay (struct scan *sc) {
  const struct kumo_xmlscan_handler *h = sc->h;
  int i, rc;
  sc->depth = 0;
  sc->namelen = 0;
  for (i = 0; i < sc->nev; i++) {
    const struct event *e = &sc->ev[i];
    switch (e->type) {
      case EV_START:
        rc = replay_start(sc, e);
        break;
      case EV_END:
        rc = h->end(h->ud, sc->names + sc->nameoff[sc->depth - 1]) != 0
             ? STOP : OK;
        if (rc == OK)
          pop_name(sc);
        break;
      case EV_TEXT:
        rc = h->text(h->ud, (const char *)sc->doc + e->off, e->len, 1) != 0
             ? STOP : OK;
        break;
      default:
        rc = h->text(h->ud, e->ref, e->n, 0) != 0 ? STOP : OK;
        break;
    }
    if (rc != OK) {
      sc->stop_at = sc->doc + e->off;
      return rc;
    }
  }
  return OK;
}


/* Line and column (from 1, in characters) of position 'at'. */
static void position (const unsigned char *doc, const unsigned char *at,
                      unsigned long *line, unsigned long *column) {
  const unsigned char *p;
  unsigned long l = 1, c = 1;
  for (p = doc; p < at; p++) {
    if (*p == '\n') {
      l++;
      c = 1;
    }
    else if ((*p & 0xc0) != 0x80)
      c++;
  }
  *line = l;
  *column = c;
}


int kumo_xmlscan (const char *s, size_t len, int max_depth,
                  const struct kumo_xmlscan_handler *h,
                  unsigned long *line, unsigned long *column) {
  struct scan sc;
  struct event events[MAX_EVENTS];
  int rc;
  sc.doc = (const unsigned char *)s;
  sc.end = sc.doc + len;
  sc.max_depth = max_depth < MAX_DEPTH ? max_depth : MAX_DEPTH;
  sc.h = h;
  sc.stop_at = NULL;
  sc.p = sc.doc;
  sc.emit = 0;
  sc.ev = events;
  sc.nev = 0;
  sc.maxev = len <= UINT_MAX ? MAX_EVENTS : 0;
  if (document(&sc) != OK)
    return KUMO_XMLSCAN_DECLINED;
  if (sc.nev <= sc.maxev)
    rc = replay(&sc);
  else {
    sc.p = sc.doc;
    sc.emit = 1;
    rc = document(&sc);
  }
  if (rc == STOP)
    position(sc.doc, sc.stop_at, line, column);
  return rc;
}
