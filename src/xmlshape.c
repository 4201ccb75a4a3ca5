/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml shape (see kumo/xmlshape.h; the look-up is inline there).
** Members are ordered by length, then bytes, so a look-up mostly compares
** lengths; structures have tens of members, so insertion keeps them
** sorted.
*/
#include <stdlib.h>
#include <string.h>

#include "kumo/xmlshape.h"


void kumo_xmlshape_init (struct kumo_xmlshape *g) {
  memset(g, 0, sizeof(*g));
}


void kumo_xmlshape_free (struct kumo_xmlshape *g) {
  free(g->nodes);
  free(g->members);
  free(g->structs);
  free(g->maps);
  free(g->pool);
  kumo_xmlshape_init(g);
}


/* Room for 'more' items in *arr (n used of *cap, 'size' bytes each). */
static int grow (void **arr, int n, int more, int *cap, size_t size) {
  void *p;
  int c = *cap ? *cap : 16;
  if (more > *cap - n) {
    while (more > c - n) {
      if (c > (1 << 28))
        return -1;
      c *= 2;
    }
    p = realloc(*arr, (size_t)c * size);
    if (p == NULL)
      return -1;
    *arr = p;
    *cap = c;
  }
  return 0;
}


/* s[0..len) copied into the pool with a '\0'; its offset, or -1. */
static long pool_add (struct kumo_xmlshape *g, const char *s, size_t len) {
  size_t off = g->poollen;
  if (g->poolcap - g->poollen < len + 1) {
    size_t cap = g->poolcap ? g->poolcap : 256;
    char *p;
    while (cap - g->poollen < len + 1)
      cap *= 2;
    p = (char *)realloc(g->pool, cap);
    if (p == NULL)
      return -1;
    g->pool = p;
    g->poolcap = cap;
  }
  memcpy(g->pool + off, s, len);
  g->pool[off + len] = '\0';
  g->poollen += len + 1;
  return (long)off;
}


int kumo_xmlshape_node (struct kumo_xmlshape *g, int kind) {
  struct kumo_xmlshape_node *v;
  if (grow((void **)&g->nodes, g->nnodes, 1, &g->capnodes, sizeof(*v)) != 0)
    return -1;
  v = &g->nodes[g->nnodes];
  v->kind = kind;
  v->flat = 0;
  v->key = 0;
  v->sub = 0;
  v->attrs = -1;
  v->check = 0;
  return g->nnodes++;
}


int kumo_xmlshape_struct (struct kumo_xmlshape *g, int cap) {
  struct kumo_xmlshape_struct *st;
  if (cap < 0
      || grow((void **)&g->structs, g->nstructs, 1, &g->capstructs,
              sizeof(*st)) != 0
      || grow((void **)&g->members, g->nmembers, cap, &g->capmembers,
              sizeof(struct kumo_xmlshape_member)) != 0)
    return -1;
  st = &g->structs[g->nstructs];
  st->first = g->nmembers;
  st->n = 0;
  st->cap = cap;
  g->nmembers += cap;
  return g->nstructs++;
}


int kumo_xmlshape_map (struct kumo_xmlshape *g, const char *key,
                       size_t keylen, const char *value, size_t valuelen,
                       int node, int keynode) {
  struct kumo_xmlshape_map m;
  long k, v;
  if ((k = pool_add(g, key, keylen)) < 0
      || (v = pool_add(g, value, valuelen)) < 0
      || grow((void **)&g->maps, g->nmaps, 1, &g->capmaps, sizeof(m)) != 0)
    return -1;
  m.key = (size_t)k;
  m.keylen = keylen;
  m.value = (size_t)v;
  m.valuelen = valuelen;
  m.node = node;
  m.keynode = keynode;
  g->maps[g->nmaps] = m;
  return g->nmaps++;
}


int kumo_xmlshape_member (struct kumo_xmlshape *g, int s, const char *name,
                          size_t len, int node) {
  struct kumo_xmlshape_struct *st = &g->structs[s];
  struct kumo_xmlshape_member m, *ms;
  long off;
  int j;
  if (st->n >= st->cap)
    return -2;
  if ((off = pool_add(g, name, len)) < 0)
    return -1;
  m.name = (size_t)off;
  m.len = len;
  m.node = node;
  ms = &g->members[st->first];
  for (j = st->n; j > 0 && kumo_xmlshape_cmp(g, g->pool + m.name, len,
                                            &ms[j - 1]) < 0; j--)
    ms[j] = ms[j - 1];
  ms[j] = m;
  st->n++;
  return 0;
}


int kumo_xmlshape_is (const struct kumo_xmlshape *g, size_t off, size_t len,
                      const char *s) {
  return strlen(s) == len && memcmp(s, g->pool + off, len) == 0;
}
