/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo host: builds the Lua state, registers the native modules in
** package.preload (loaded only when a script requires them) and puts
** kumo's Lua tree first on package.path.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "kumo/host.h"

#ifndef KUMO_DATADIR
#define KUMO_DATADIR "/usr/local/share/kumo"
#endif

static char moddir[PATH_MAX + 16];   /* .../modules (build) or DATADIR/lua */
static char datadir[PATH_MAX + 16];  /* tree root (build) or DATADIR */


static const luaL_Reg natives[] = {
  {"kumo.sigv4", luaopen_kumo_sigv4},
  {"kumo.http", luaopen_kumo_http},
  {"kumo.xml", luaopen_kumo_xml},
  {"kumo.crypto", luaopen_kumo_crypto},
  {"kumo.clock", luaopen_kumo_clock},
  {"kumo.sys", luaopen_kumo_sys},
  {NULL, NULL}
};


static int isfile (const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}


/*
** Locate kumo's data. A binary in <root>/bin next to <root>/modules/kumo is
** a build tree and uses it; anything else uses the compiled-in DATADIR.
*/
static void locate (const char *argv0) {
  char exe[PATH_MAX], probe[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  char *slash;
  if (n > 0)
    exe[n] = '\0';
  else if (argv0 == NULL || realpath(argv0, exe) == NULL)
    exe[0] = '\0';
  slash = strrchr(exe, '/');
  if (slash != NULL) {
    *slash = '\0';  /* bin directory */
    slash = strrchr(exe, '/');
    if (slash != NULL) {
      *slash = '\0';  /* candidate root */
      snprintf(probe, sizeof(probe), "%s/modules/kumo/init.lua", exe);
      if (isfile(probe)) {
        snprintf(datadir, sizeof(datadir), "%s", exe);
        snprintf(moddir, sizeof(moddir), "%s/modules", exe);
        return;
      }
    }
  }
  snprintf(datadir, sizeof(datadir), "%s", KUMO_DATADIR);
  snprintf(moddir, sizeof(moddir), "%s/lua", KUMO_DATADIR);
}


const char *kumo_host_moddir (void) { return moddir; }
const char *kumo_host_datadir (void) { return datadir; }


/* package.<field> = prefix .. ";" .. package.<field>   [-0, +0] */
static void prepend_path (lua_State *L, const char *field,
                          const char *prefix) {
  lua_getglobal(L, LUA_LOADLIBNAME);
  lua_getfield(L, -1, field);
  lua_pushfstring(L, "%s;%s", prefix, lua_tostring(L, -1));
  lua_setfield(L, -3, field);
  lua_pop(L, 2);
}


/* Registered as package.preload entries and run under pcall. */
static int setup (lua_State *L) {
  const char *argv0 = (const char *)lua_touserdata(L, 1);
  const luaL_Reg *m;
  luaL_openlibs(L);
  locate(argv0);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (m = natives; m->name != NULL; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", moddir, moddir);
  prepend_path(L, "path", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 0;
}


lua_State *kumo_host_new (const char *argv0) {
  lua_State *L = luaL_newstate();
  if (L == NULL)
    return NULL;
  lua_pushcfunction(L, setup);
  lua_pushlightuserdata(L, (void *)argv0);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "kumo: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  /* As the stand-alone lua 5.4 does: the loaded models are a large,
  ** long-lived heap that the incremental collector would mark again in
  ** every cycle, while each call's garbage dies young. */
  lua_gc(L, LUA_GCGEN, 0, 0);
  return L;
}
