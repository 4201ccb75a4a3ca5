/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml scanner: a fast reader for the plain XML that AWS services
** send (an optional UTF-8 declaration, elements, attributes, text, the
** predefined and numeric character references), used by xml.c before
** expat. It never reports an error of its own: a document outside that
** subset (comments, CDATA, DOCTYPE, CR, non-ASCII names, anything
** malformed) is declined as a whole, before any event, and expat reads
** it. Pure C, no allocation.
*/
#ifndef KUMO_XMLSCAN_H
#define KUMO_XMLSCAN_H

#include <stddef.h>

struct kumo_xmlscan_handler {
  /* An element opens; 'attrs' is name, value, ..., NULL. Non-zero stops. */
  int (*start) (void *ud, const char *name, const char **attrs);
  /* A piece of the open element's direct text, decoded; 'lasting' when s
  ** stays valid until kumo_xmlscan returns (then it points into the
  ** document). Non-zero stops. */
  int (*text) (void *ud, const char *s, size_t len, int lasting);
  /* The open element closes. Non-zero stops. */
  int (*end) (void *ud, const char *name);
  void *ud;
};

/* Results of kumo_xmlscan. */
#define KUMO_XMLSCAN_DONE 0      /* read whole, every event delivered */
#define KUMO_XMLSCAN_DECLINED 1  /* outside the subset: no event delivered */
#define KUMO_XMLSCAN_STOPPED 2   /* a handler returned non-zero */

/*
** Reads s[0..len) with elements nested at most 'max_depth' deep. On
** KUMO_XMLSCAN_STOPPED, '*line' and '*column' (both from 1; columns count
** characters) tell where the event that stopped begins.
*/
int kumo_xmlscan (const char *s, size_t len, int max_depth,
                  const struct kumo_xmlscan_handler *h,
                  unsigned long *line, unsigned long *column);

#endif
