/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.sys: the few operating-system calls Lua lacks and kumo needs:
** terminal detection, process identity, exec, environment changes,
** directories, whole-file reads and atomic, private file writes (credential caches, state
** journals), file locks the kernel drops when the process dies, and
** SIGINT/SIGTERM turned into a flag a workflow checks between calls.
*/
#define _GNU_SOURCE  /* F_OFD_SETLK, F_OFD_GETLK (Linux 3.15) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
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
** read_file(path): the whole file as a string; nil, "path: reason" and
** errno (as io.open) when it cannot be opened or read (a directory).
*/
static int sys_read_file (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_Buffer b;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return luaL_fileresult(L, 0, path);
  luaL_buffinit(L, &b);
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(fd, p, LUAL_BUFFERSIZE);
    if (n < 0) {
      int saved = errno;
      if (saved == EINTR)
        continue;
      close(fd);
      errno = saved;
      return luaL_fileresult(L, 0, path);
    }
    if (n == 0)
      break;
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
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


/*
** File locks. An open file description lock (F_OFD_SETLK) belongs to the
** open file, not to the process: closing another descriptor of the same
** file (reading the holder's note with io.open) does not drop it, as it
** would drop a classic POSIX record lock, and the kernel releases it
** when the process dies, however it dies.
*/
#define LOCK_TNAME "kumo.sys.lock"

typedef struct Lock {
  int fd;  /* -1 once released */
} Lock;


static void lock_range (struct flock *fl, short type) {
  memset(fl, 0, sizeof(*fl));
  fl->l_type = type;
  fl->l_whence = SEEK_SET;  /* whole file: start 0, length 0 */
}


/*
** lock(path): take the exclusive lock of 'path' (created 0600) without
** waiting. Returns a lock, or fail, "busy" when another open file holds
** it, or fail, message, errno on an error.
*/
static int sys_lock (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Lock *lk = (Lock *)lua_newuserdatauv(L, sizeof(Lock), 0);
  struct flock fl;
  lk->fd = -1;  /* a consistent handle before anything can fail */
  luaL_setmetatable(L, LOCK_TNAME);
  lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lk->fd < 0)
    return luaL_fileresult(L, 0, path);
  lock_range(&fl, F_WRLCK);
  if (fcntl(lk->fd, F_OFD_SETLK, &fl) != 0) {
    int saved = errno;
    close(lk->fd);
    lk->fd = -1;
    if (saved == EAGAIN || saved == EACCES) {
      luaL_pushfail(L);
      lua_pushliteral(L, "busy");
      return 2;
    }
    errno = saved;
    return luaL_fileresult(L, 0, path);
  }
  return 1;
}


/*
** locked(path): true when another open file holds the lock of 'path',
** false when nobody does (or the file does not exist). Takes nothing.
*/
static int sys_locked (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct flock fl;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      lua_pushboolean(L, 0);
      return 1;
    }
    return luaL_fileresult(L, 0, path);
  }
  lock_range(&fl, F_WRLCK);
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return luaL_fileresult(L, 0, path);
  }
  close(fd);
  lua_pushboolean(L, fl.l_type != F_UNLCK);
  return 1;
}


static Lock *checklock (lua_State *L) {
  return (Lock *)luaL_checkudata(L, 1, LOCK_TNAME);
}


/*** lock:note(text): replace the lock file's content (who holds it). */
static int lock_note (lua_State *L) {
  Lock *lk = checklock(L);
  size_t len, off = 0;
  const char *text = luaL_checklstring(L, 2, &len);
  luaL_argcheck(L, lk->fd >= 0, 1, "lock released");
  if (ftruncate(lk->fd, 0) != 0)
    return luaL_fileresult(L, 0, NULL);
  while (off < len) {
    ssize_t w = pwrite(lk->fd, text + off, len - off, (off_t)off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return luaL_fileresult(L, 0, NULL);
    }
    off += (size_t)w;
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*** lock:release(): empty the note and drop the lock; safe to call twice. */
static int lock_release (lua_State *L) {
  Lock *lk = checklock(L);
  if (lk->fd >= 0) {
    if (ftruncate(lk->fd, 0) != 0) { /* the note only: the lock goes anyway */ }
    close(lk->fd);  /* closing the only descriptor releases an OFD lock */
    lk->fd = -1;
  }
  return 0;
}


/*
** Signals. The first SIGINT or SIGTERM only sets a flag: the workflow
** starts no new call, lets the calls in flight reach its journal, and
** exits 128 + signal. A second one ends the process at once.
*/
static volatile sig_atomic_t caught = 0;


static void on_signal (int sig) {
  if (caught != 0)
    _exit(128 + sig);
  caught = sig;
}


/*** trap_signals(): catch SIGINT and SIGTERM from now on. */
static int sys_trap_signals (lua_State *L) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
    return luaL_fileresult(L, 0, "sigaction");
  lua_pushboolean(L, 1);
  return 1;
}


/*** signaled(): the number and name of the signal caught, or nil. */
static int sys_signaled (lua_State *L) {
  int sig = caught;
  if (sig == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, sig);
  lua_pushstring(L, sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal");
  return 2;
}


/*** hostname(): this machine's name. */
static int sys_hostname (lua_State *L) {
  char buf[256];
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return luaL_fileresult(L, 0, "gethostname");
  buf[sizeof(buf) - 1] = '\0';
  lua_pushstring(L, buf);
  return 1;
}


static const luaL_Reg lockmeth[] = {
  {"note", lock_note},
  {"release", lock_release},
  {NULL, NULL}
};


static const luaL_Reg lockmeta[] = {
  {"__index", NULL},  /* placeholder */
  {"__gc", lock_release},
  {"__close", lock_release},
  {NULL, NULL}
};


static const luaL_Reg syslib[] = {
  {"exec", sys_exec},
  {"getpid", sys_getpid},
  {"hostname", sys_hostname},
  {"isatty", sys_isatty},
  {"lock", sys_lock},
  {"locked", sys_locked},
  {"mkdir", sys_mkdir},
  {"read_file", sys_read_file},
  {"setenv", sys_setenv},
  {"signaled", sys_signaled},
  {"stat", sys_stat},
  {"termwidth", sys_termwidth},
  {"trap_signals", sys_trap_signals},
  {"write_atomic", sys_write_atomic},
  {NULL, NULL}
};


static void createmeta (lua_State *L) {
  luaL_newmetatable(L, LOCK_TNAME);
  luaL_setfuncs(L, lockmeta, 0);
  luaL_newlibtable(L, lockmeth);
  luaL_setfuncs(L, lockmeth, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


/*
** Loaded by stock lua5.4 (no kumo host: its directories are empty): the
** Lua modules are where package.path finds kumo.api, and in a build tree
** ("<root>/modules") the data (docs, scripts, sandbox) is its parent.
** Sets sys.moddir and sys.datadir when found. [sys]
*/
static void library_dirs (lua_State *L) {
  const char *path;
  size_t n;
  lua_getglobal(L, "package");
  if (lua_getfield(L, -1, "searchpath") != LUA_TFUNCTION
      || lua_getfield(L, -2, "path") != LUA_TSTRING) {
    lua_pop(L, 3);
    return;
  }
  lua_pushliteral(L, "kumo.api");
  lua_insert(L, -2);
  lua_call(L, 2, 1);  /* [sys, package, file or nil] */
  path = lua_tolstring(L, -1, &n);
  if (path != NULL && n > 13 && strcmp(path + n - 13, "/kumo/api.lua") == 0) {
    lua_pushlstring(L, path, n - 13);
    lua_setfield(L, -4, "moddir");
    if (n - 13 > 8 && strncmp(path + n - 21, "/modules", 8) == 0) {
      lua_pushlstring(L, path, n - 21);
      lua_setfield(L, -4, "datadir");
    }
  }
  lua_pop(L, 2);
}


int luaopen_kumo_sys (lua_State *L) {
  createmeta(L);
  luaL_newlib(L, syslib);
  lua_pushstring(L, kumo_host_moddir());
  lua_setfield(L, -2, "moddir");
  lua_pushstring(L, kumo_host_datadir());
  lua_setfield(L, -2, "datadir");
  if (kumo_host_moddir()[0] == '\0')
    library_dirs(L);
  lua_pushstring(L, KUMO_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, KUMO_API_VERSION);
  lua_setfield(L, -2, "api_version");
  return 1;
}
