/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml shape: the compiled form of an output shape that the XML
** response reader (src/l_xmlread.c) walks: value nodes, structures with
** their members sorted by wire name (looked up by binary search), maps,
** and one pool for the names. Built by calls, read through the public
** arrays. Pure C, no Lua: the binding translates Lua shape descriptions
** into it and keeps Lua-side values (member names, union checks) apart,
** by index.
*/
#ifndef KUMO_XMLSHAPE_H
#define KUMO_XMLSHAPE_H

#include <stddef.h>
#include <string.h>

/* Value kinds (the numbers of the Lua descriptions). */
enum { KUMO_XMLSHAPE_STRING = 1, KUMO_XMLSHAPE_STRUCT, KUMO_XMLSHAPE_LIST,
       KUMO_XMLSHAPE_MAP, KUMO_XMLSHAPE_INT, KUMO_XMLSHAPE_BOOL,
       KUMO_XMLSHAPE_FLOAT, KUMO_XMLSHAPE_TIME, KUMO_XMLSHAPE_BLOB };

struct kumo_xmlshape_node {  /* a value */
  int kind;
  int flat;        /* a flattened list or map */
  int key;         /* the caller's index of the member name; 0 for none */
  int sub;         /* struct: structs[]; list: item node; map: maps[] */
  int attrs;       /* struct: structs[] of its XML attributes, or -1 */
  int check;       /* the caller's index of a union's check; 0 for none */
};

struct kumo_xmlshape_member {  /* a wire name and the value read there */
  size_t name;     /* offset in the pool ('\0'-terminated there) */
  size_t len;
  int node;
};

struct kumo_xmlshape_struct {  /* members[first .. first + n), sorted */
  int first, n, cap;
};

struct kumo_xmlshape_map {
  size_t key, keylen, value, valuelen;  /* wire names in the pool */
  int node;        /* the value's node */
  int keynode;     /* the key's node, or -1 for a string */
};

struct kumo_xmlshape {
  struct kumo_xmlshape_node *nodes;
  struct kumo_xmlshape_member *members;
  struct kumo_xmlshape_struct *structs;
  struct kumo_xmlshape_map *maps;
  char *pool;
  int nnodes, nmembers, nstructs, nmaps;
  int capnodes, capmembers, capstructs, capmaps;
  size_t poollen, poolcap;
};

/* An empty shape (all zero); kumo_xmlshape_free releases what it holds. */
void kumo_xmlshape_init (struct kumo_xmlshape *g);
void kumo_xmlshape_free (struct kumo_xmlshape *g);

/* Each returns the new item's index, or -1 when out of memory. */
int kumo_xmlshape_node (struct kumo_xmlshape *g, int kind);
int kumo_xmlshape_struct (struct kumo_xmlshape *g, int cap);
int kumo_xmlshape_map (struct kumo_xmlshape *g, const char *key,
                       size_t keylen, const char *value, size_t valuelen,
                       int node, int keynode);

/*
** Adds member name[0..len) -> node to structure s (in order). Returns 0,
** -1 when out of memory, -2 when s already has its 'cap' members.
*/
int kumo_xmlshape_member (struct kumo_xmlshape *g, int s, const char *name,
                          size_t len, int node);

/* Order of members: by length, then bytes (<0, 0, >0). */
static inline int kumo_xmlshape_cmp (const struct kumo_xmlshape *g,
                                     const char *s, size_t len,
                                     const struct kumo_xmlshape_member *m) {
  if (len != m->len)
    return len < m->len ? -1 : 1;
  return memcmp(s, g->pool + m->name, len);
}

/*
** Structure s's member named name[0..len), or NULL. Inline: the reader
** looks up every element it meets, so the call would cost as much as the
** search.
*/
static inline const struct kumo_xmlshape_member *
kumo_xmlshape_find (const struct kumo_xmlshape *g, int s, const char *name,
                    size_t len) {
  const struct kumo_xmlshape_struct *st = &g->structs[s];
  int lo = st->first, hi = st->first + st->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int r = kumo_xmlshape_cmp(g, name, len, &g->members[mid]);
    if (r == 0)
      return &g->members[mid];
    if (r < 0)
      hi = mid - 1;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* Whether the pool's name at 'off' (of 'len' bytes) is the string s. */
int kumo_xmlshape_is (const struct kumo_xmlshape *g, size_t off, size_t len,
                      const char *s);

#endif
