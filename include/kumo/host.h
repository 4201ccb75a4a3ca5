/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo host: the Lua state, where the modules live, and the native
** module table. Everything a C embedder needs to run kumo's Lua.
*/
#ifndef KUMO_HOST_H
#define KUMO_HOST_H

#include <lua.h>

#define KUMO_VERSION "0.1.0"

/* Bumped when a native module changes its Lua-visible contract; init.lua
** checks it so that a stale module tree fails loudly. */
#define KUMO_API_VERSION 1

/*
** Create a Lua state with the standard libraries, kumo's native modules
** registered in package.preload and package.path/cpath pointing at kumo's
** Lua tree first. 'argv0' is used only when /proc/self/exe is unavailable.
** Returns NULL when out of memory.
*/
lua_State *kumo_host_new (const char *argv0);

/* Where kumo's Lua modules, scripts and sandbox live (no trailing '/'). */
const char *kumo_host_moddir (void);
const char *kumo_host_datadir (void);

/* luaopen functions of the native modules (one binding file each). */
int luaopen_kumo_sigv4 (lua_State *L);
int luaopen_kumo_http (lua_State *L);
int luaopen_kumo_xml (lua_State *L);
int luaopen_kumo_crypto (lua_State *L);
int luaopen_kumo_clock (lua_State *L);
int luaopen_kumo_sys (lua_State *L);

#endif
