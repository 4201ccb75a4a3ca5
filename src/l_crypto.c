/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER kumo.crypto binding: replaced by the real module (issue 2). */
#include <lua.h>
#include <lauxlib.h>
#include "kumo/host.h"

int luaopen_kumo_crypto (lua_State *L) {
  lua_newtable(L);
  return 1;
}
