/* SPDX-License-Identifier: Apache-2.0 */
/* kumo -i: the interactive loop (readline line editing and history). */
#ifndef KUMO_REPL_H
#define KUMO_REPL_H

#include <lua.h>

/*
** Reads, evaluates and prints lines until end of input, as lua.c's REPL:
** an expression's values are printed ("=expr" and "return ..." work too),
** an incomplete statement asks for more, errors are printed through
** 'handler' (a message handler for lua_pcall) and the loop goes on.
** History: $KUMO_HISTORY, else ~/.kumo_history (read at start, each line
** appended). Returns 0.
*/
int kumo_repl (lua_State *L, lua_CFunction handler);

#endif
