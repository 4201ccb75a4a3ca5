/* SPDX-License-Identifier: Apache-2.0 */
/*
** Unit tests of src/xmlshape.c: building a compiled shape and looking
** members up by wire name. Prints "N passed, N failed".
*/
#include <stdio.h>
#include <string.h>

#include "kumo/xmlshape.h"

static int passed, failed;

#define CHECK(name, cond) \
  do { if (cond) passed++; else { failed++; printf("FAIL %s\n", name); } } while (0)

static int find (const struct kumo_xmlshape *g, int s, const char *name) {
  const struct kumo_xmlshape_member *m = kumo_xmlshape_find(g, s, name,
                                                            strlen(name));
  return m ? m->node : -1;
}

int main (void) {
  struct kumo_xmlshape g;
  static const char *names[] = { "Zeta", "a", "Alpha", "ab", "B", "member",
                                 "x:y", "Aa", "aa", "c" };
  int n = (int)(sizeof(names) / sizeof(names[0]));
  int s, e, i, v, ok;
  char many[64][8];
  kumo_xmlshape_init(&g);
  v = kumo_xmlshape_node(&g, KUMO_XMLSHAPE_STRING);
  CHECK("first node", v == 0 && g.nodes[0].kind == KUMO_XMLSHAPE_STRING
        && g.nodes[0].attrs == -1 && g.nodes[0].check == 0
        && g.nodes[0].key == 0 && g.nodes[0].flat == 0);
  s = kumo_xmlshape_struct(&g, n);
  CHECK("struct", s == 0);
  e = kumo_xmlshape_struct(&g, 0);
  CHECK("empty struct", e == 1 && find(&g, e, "a") == -1);
  ok = 1;
  for (i = 0; i < n; i++) {
    int node = kumo_xmlshape_node(&g, KUMO_XMLSHAPE_INT);
    ok = ok && node == i + 1
         && kumo_xmlshape_member(&g, s, names[i], strlen(names[i]), node) == 0;
  }
  CHECK("members added", ok);
  CHECK("full struct refuses", kumo_xmlshape_member(&g, s, "q", 1, 0) == -2);
  CHECK("empty struct refuses", kumo_xmlshape_member(&g, e, "q", 1, 0) == -2);
  ok = 1;
  for (i = 0; i < n; i++)
    ok = ok && find(&g, s, names[i]) == i + 1;
  CHECK("every member found", ok);
  CHECK("case matters", find(&g, s, "zeta") == -1 && find(&g, s, "A") == -1);
  CHECK("prefixes and longer names absent", find(&g, s, "Alph") == -1
        && find(&g, s, "Alphas") == -1 && find(&g, s, "") == -1
        && find(&g, s, "x") == -1);
  CHECK("sorted by length then bytes", g.structs[s].n == n
        && g.members[g.structs[s].first].len == 1
        && g.members[g.structs[s].first + n - 1].len == 6);
  /* a second structure after the first keeps its own members */
  {
    int t = kumo_xmlshape_struct(&g, 64);
    ok = t == 2;
    for (i = 0; i < 64; i++) {
      snprintf(many[i], sizeof(many[i]), "m%d", 63 - i);
      ok = ok && kumo_xmlshape_member(&g, t, many[i], strlen(many[i]), i) == 0;
    }
    for (i = 0; i < 64; i++)
      ok = ok && find(&g, t, many[i]) == i;
    CHECK("64 members, after another structure", ok && find(&g, t, "Zeta") == -1
          && find(&g, s, "m1") == -1 && find(&g, s, "Zeta") == 1);
  }
  i = kumo_xmlshape_map(&g, "key", 3, "V", 1, 4, -1);
  CHECK("map", i == 0 && g.maps[0].node == 4 && g.maps[0].keynode == -1
        && kumo_xmlshape_is(&g, g.maps[0].key, g.maps[0].keylen, "key")
        && kumo_xmlshape_is(&g, g.maps[0].value, g.maps[0].valuelen, "V")
        && !kumo_xmlshape_is(&g, g.maps[0].key, g.maps[0].keylen, "ke")
        && !kumo_xmlshape_is(&g, g.maps[0].key, g.maps[0].keylen, "keys"));
  /* names in the pool are '\0'-terminated (the binding prints them) */
  CHECK("pool names terminated",
        strcmp(g.pool + g.members[g.structs[s].first + n - 1].name, "member") == 0);
  for (i = 0; i < 1000; i++)
    kumo_xmlshape_node(&g, KUMO_XMLSHAPE_BLOB);
  CHECK("nodes grow", g.nnodes == n + 1 + 1000 && g.nodes[n + 1000].kind
        == KUMO_XMLSHAPE_BLOB && g.nodes[1].kind == KUMO_XMLSHAPE_INT);
  kumo_xmlshape_free(&g);
  CHECK("free empties", g.nodes == NULL && g.nnodes == 0 && g.pool == NULL);
  kumo_xmlshape_free(&g);  /* twice is harmless */
  printf("xmlshape_test: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
