/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.sys: the few operating-system calls Lua lacks and kumo needs:
** terminal detection, process identity, exec, environment changes,
** directories and atomic, private file writes (credential caches, state
** journals).
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <lua.h>
#include <lauxlib.h>

#include "kumo/host.h"


/*** True when file descriptor 'fd' (default 1) is a terminal. */
static int sys_isatty (lua_State *L) {
  int fd = (int)luaL_optinteger(L, 1, 1);
  lua_pushboolean(L, isatty(fd));
  return 1;
}


/*** Columns of the terminal on 'fd' (default 1), or fail. */
static int sys_termwidth (lua_State *L) {
  int fd = (int)luaL_optinteger(L, 1, 1);
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, ws.ws_col);
  return 1;
}


static int sys_getpid (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}


/*** setenv(name, value) or setenv(name, nil) to unset. */
static int sys_setenv (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *value = luaL_optstring(L, 2, NULL);
  int rc = value != NULL ? setenv(name, value, 1) : unsetenv(name);
  return luaL_fileresult(L, rc == 0, name);
}


/*
** exec(argv): replaces the process (execvp). Returns only on failure,
** with fail, message.
*/
static int sys_exec (lua_State *L) {
  int n, i;
  char **argv;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "argv must hold the program name");
  argv = (char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    argv[i - 1] = (char *)luaL_checkstring(L, -1);
    lua_pop(L, 1);  /* strings stay alive in the table */
  }
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  execvp(argv[0], argv);
  return luaL_fileresult(L, 0, argv[0]);
}


/*** mkdir(path, mode): creates 'path' and its parents; ok if present. */
static int sys_mkdir (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  mode_t mode = (mode_t)luaL_optinteger(L, 2, 0755);
  char buf[PATH_MAX];
  char *p;
  if (strlen(path) >= sizeof(buf))
    return luaL_error(L, "mkdir: path too long: %s", path);
  strcpy(buf, path);
  for (p = buf + 1; *p != '\0'; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return luaL_fileresult(L, 0, buf);
      *p = '/';
    }
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST)
    return luaL_fileresult(L, 0, buf);
  lua_pushboolean(L, 1);
  return 1;
}


/*
** write_atomic(path, data [, mode]): write to a temporary file in the same
** directory with 'mode' (default 0600), fsync it, rename it over 'path'.
** Readers see the old content or the new, never a torn file.
*/
static int sys_write_atomic (lua_State *L) {
  size_t len;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &len);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0600);
  char tmp[PATH_MAX];
  int fd, saved;
  size_t off = 0;
  if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
    return luaL_error(L, "write_atomic: path too long: %s", path);
  fd = mkstemp(tmp);
  if (fd < 0)
    return luaL_fileresult(L, 0, path);
  if (fchmod(fd, mode) != 0)
    goto fail;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      goto fail;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0)
    goto fail;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    goto fail;
  lua_pushboolean(L, 1);
  return 1;
fail:
  saved = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  errno = saved;
  return luaL_fileresult(L, 0, path);
}


/*** stat(path): { size=, mode=, mtime=, type="file"|"dir"|"other" } or fail. */
static int sys_stat (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0)
    return luaL_fileresult(L, 0, path);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file"
                    : S_ISDIR(st.st_mode) ? "dir" : "other");
  lua_setfield(L, -2, "type");
  return 1;
}


static const luaL_Reg syslib[] = {
  {"exec", sys_exec},
  {"getpid", sys_getpid},
  {"isatty", sys_isatty},
  {"mkdir", sys_mkdir},
  {"setenv", sys_setenv},
  {"stat", sys_stat},
  {"termwidth", sys_termwidth},
  {"write_atomic", sys_write_atomic},
  {NULL, NULL}
};


int luaopen_kumo_sys (lua_State *L) {
  luaL_newlib(L, syslib);
  lua_pushstring(L, kumo_host_moddir());
  lua_setfield(L, -2, "moddir");
  lua_pushstring(L, kumo_host_datadir());
  lua_setfield(L, -2, "datadir");
  lua_pushstring(L, KUMO_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, KUMO_API_VERSION);
  lua_setfield(L, -2, "api_version");
  return 1;
}
