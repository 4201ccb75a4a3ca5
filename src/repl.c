/* SPDX-License-Identifier: Apache-2.0 */
/* kumo -i: a read-eval-print loop over readline (line editing, history). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>
#include <readline/history.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/repl.h"

#define PROMPT "kumo> "
#define PROMPT2 "kumo>> "
#define HISTORY_MAX 1000

static char history_file[4096];


/* $KUMO_HISTORY, else ~/.kumo_history, else none (empty). */
static void find_history (void) {
  const char *h = getenv("KUMO_HISTORY");
  const char *home = getenv("HOME");
  history_file[0] = '\0';
  if (h != NULL && h[0] != '\0')
    snprintf(history_file, sizeof(history_file), "%s", h);
  else if (home != NULL && home[0] != '\0')
    snprintf(history_file, sizeof(history_file), "%s/.kumo_history", home);
}


/* Remember a line (in memory and in the history file). */
static void remember (const char *line) {
  if (line[0] == '\0')
    return;
  add_history(line);
  if (history_file[0] != '\0') {
    FILE *f = fopen(history_file, "a");  /* created when missing */
    if (f != NULL)
      fclose(f);
    if (append_history(1, history_file) == 0)
      history_truncate_file(history_file, HISTORY_MAX);
  }
}


/* Did the chunk fail only because it ends too early (lua.c's test)? */
static int incomplete (lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0)
      return 1;
  }
  return 0;
}


/*
** Compile the text on top of the stack: as "return TEXT" first (an
** expression), else as a statement, reading more lines while it is
** incomplete. Leaves the function (or the error message) in place of the
** text. Returns a Lua status, or -1 at end of input.
*/
static int compile (lua_State *L) {
  int status;
  const char *text = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s", text[0] == '=' ? text + 1 : text);
  status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);  /* the "return" text */
    lua_remove(L, -2);  /* the line */
    return status;
  }
  lua_pop(L, 2);  /* error, "return" text */
  for (;;) {
    size_t len;
    char *more;
    text = lua_tolstring(L, -1, &len);
    status = luaL_loadbuffer(L, text, len, "=stdin");
    if (!incomplete(L, status))
      break;
    lua_pop(L, 1);
    more = readline(PROMPT2);
    if (more == NULL)
      return -1;
    remember(more);
    lua_pushliteral(L, "\n");
    lua_pushstring(L, more);
    free(more);
    lua_concat(L, 3);
  }
  lua_remove(L, -2);  /* the text */
  return status;
}


/* Print the values above 'base' with the global print. */
static void print_values (lua_State *L, int base, lua_CFunction handler) {
  int n = lua_gettop(L) - base;
  if (n == 0)
    return;
  lua_getglobal(L, "print");
  lua_insert(L, base + 1);
  lua_pushcfunction(L, handler);
  lua_insert(L, base + 1);
  if (lua_pcall(L, n, 0, base + 1) != LUA_OK) {
    fprintf(stderr, "kumo: error calling print (%s)\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);  /* the handler */
}


int kumo_repl (lua_State *L, lua_CFunction handler) {
  char *line;
  find_history();
  if (history_file[0] != '\0')
    read_history(history_file);  /* none yet is fine */
  while ((line = readline(PROMPT)) != NULL) {
    int base = lua_gettop(L);
    int status;
    remember(line);
    lua_pushstring(L, line);
    free(line);
    status = compile(L);
    if (status == -1)
      break;
    if (status == LUA_OK) {
      lua_pushcfunction(L, handler);
      lua_insert(L, base + 1);
      status = lua_pcall(L, 0, LUA_MULTRET, base + 1);
      lua_remove(L, base + 1);
    }
    if (status == LUA_OK)
      print_values(L, base, handler);
    else {
      fprintf(stderr, "kumo: %s\n", lua_tostring(L, -1));
      fflush(stderr);
    }
    lua_settop(L, base);
  }
  fputc('\n', stdout);
  return 0;
}
