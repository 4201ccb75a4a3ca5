/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml: a bounded, non-validating expat front end. It refuses DTDs
** (so no entity expansion), caps the input size and element depth, hands
** each element to callbacks together with its direct text (all pieces,
** concatenated, mixed content included) and reports errors with line and
** column. No namespace processing: names are as written. Plain documents
** are read by kumo/xmlscan.h's scanner, with the same events, and the
** rest by expat. Pure C, no Lua.
*/
#ifndef KUMO_XML_H
#define KUMO_XML_H

#include <stddef.h>

#define KUMO_XML_MAX_DEPTH 128
#define KUMO_XML_MAX_SIZE ((size_t)64 << 20)

struct kumo_xml_handler {
  /* An element opens; 'attrs' is name, value, ..., NULL. Non-zero stops. */
  int (*start) (void *ud, const char *name, const char **attrs);
  /* It closes, with its direct text (not '\0'-terminated). */
  int (*end) (void *ud, const char *name, const char *text, size_t len);
  void *ud;
};

struct kumo_xml_limits {
  size_t max_size;     /* bytes of input; 0 means KUMO_XML_MAX_SIZE */
  int max_depth;       /* element nesting; 0 means KUMO_XML_MAX_DEPTH */
};

/* Opaque parse state, so a caller can free it even after a longjmp. */
struct kumo_xml;

struct kumo_xml *kumo_xml_new (const struct kumo_xml_limits *limits,
                               const struct kumo_xml_handler *h);
void kumo_xml_free (struct kumo_xml *x);

/*
** Parses the whole document s[0..len) (one call per kumo_xml). Returns 0,
** or -1 with an "xml: line L, column C: message" error in 'err' (always
** '\0'-terminated, truncated to 'errsize').
*/
int kumo_xml_parse (struct kumo_xml *x, const char *s, size_t len,
                    char *err, size_t errsize);

/* Reads with expat alone, never the scanner (tests compare the two). */
void kumo_xml_expat_only (struct kumo_xml *x);

/* Bytes needed to escape s[0..len) for XML text or attribute values. */
size_t kumo_xml_escaped_len (const char *s, size_t len);
/* Writes the escaped form (& < > " ' and CR as entities) into 'out'. */
void kumo_xml_escape (const char *s, size_t len, char *out);

#endif
