/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo: command line. Parses argv, runs a script or a chunk in protected
** mode with a traceback handler (as lua.c does) and maps the outcome to
** an exit code: 0 success, 1 script error, 2 usage error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>
#include <openssl/crypto.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "kumo/host.h"
#include "kumo/repl.h"

#define EXIT_SCRIPT 1
#define EXIT_USAGE 2

static const char *progname = "kumo";

static const char usage_text[] =
  "usage: kumo COMMAND [ARGS...]\n"
  "\n"
  "commands:\n"
  "  run SCRIPT [ARGS...]  run a Lua script ('-' reads it from stdin); it sees\n"
  "                        ARGS in 'arg' as with lua\n"
  "  -i                    interactive Lua (line editing, history); bare kumo on a terminal\n"
  "  -e CODE [ARGS...]     run a chunk of Lua code\n"
  "  call SERVICE OP [...] call one AWS operation, as the AWS CLI (see --help)\n"
  "  sandbox [OPTIONS]     start the local two-account AWS cloud (see --help;\n"
  "                        --detach: in the background, 'sandbox stop --dir DIR')\n"
  "  version               print kumo's version and its libraries'\n"
  "  help                  print this text\n"
  "\n"
  "Workflows ship as scripts, e.g.:\n"
  "  kumo run scripts/rds-proxy-share.lua plan --config FILE\n"
  "Options before the command: --debug (wire log with secrets redacted, and\n"
  "tracebacks, on stderr; the same as KUMO_DEBUG=1).\n"
  "Exit status: 0 success, 1 script error, 2 usage error.\n"
  "See kumo(1) and README.md.\n";


/*
** Print an error. Its text may quote a server's answer: bytes a terminal
** acts on (C0 controls but tab and newline, DEL, C1 as UTF-8) are shown as
** \xNN, so no answer can retitle, clear or rewrite the user's terminal.
*/
static void report (const char *msg) {
  const unsigned char *p = (const unsigned char *)msg;
  fprintf(stderr, "%s: ", progname);
  for (; *p != '\0'; p++) {
    if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
      fprintf(stderr, "\\x%02x", *p);
    else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
      fprintf(stderr, "\\u%04x", p[1]);
      p++;
    }
    else
      fputc(*p, stderr);
  }
  fputc('\n', stderr);
  fflush(stderr);
}


static int debugging (void) {
  const char *v = getenv("KUMO_DEBUG");
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}


/* Is the value at 'idx' a kumo AWS error object (metatable __name)? */
static int is_kumo_error (lua_State *L, int idx) {
  int yes = 0;
  if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
    lua_getfield(L, -1, "__name");
    yes = lua_type(L, -1) == LUA_TSTRING &&
          strcmp(lua_tostring(L, -1), "kumo.error") == 0;
    lua_pop(L, 2);
  }
  return yes;
}


/*
** Message handler: turns the error object into a string (through
** __tostring when it has one) and appends a traceback. An AWS error
** (kumo.errors) is one readable line with its request id; its traceback
** only under --debug / KUMO_DEBUG.
*/
static int msghandler (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  int aws = msg == NULL && is_kumo_error(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
  }
  if (aws && !debugging())
    lua_pushstring(L, msg);
  else
    luaL_traceback(L, L, msg, 1);
  return 1;
}


/* Call the function below 'narg' arguments; report an error. */
static int docall (lua_State *L, int narg) {
  int base = lua_gettop(L) - narg;
  int status;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  status = lua_pcall(L, narg, 0, base);
  lua_remove(L, base);
  if (status != LUA_OK) {
    report(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}


/*
** Build the global 'arg' as lua.c does: arg[0] is the script, arg[1..]
** the arguments, negative indices what came before.
*/
static void createargtable (lua_State *L, char **argv, int argc, int script) {
  int i;
  lua_createtable(L, argc - script - 1, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}


/* Push arg[1..n] on the stack (the script's '...'); return n. */
static int pushargs (lua_State *L) {
  int i, n;
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}


static int print_version (void) {
  const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
  printf("kumo %s\n", KUMO_VERSION);
  printf("%s\n", LUA_RELEASE);
  printf("libcurl %s\n", cv->version);
  printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
  printf("%s\n", XML_ExpatVersion());
  return EXIT_SUCCESS;
}


static int usage (const char *msg) {
  if (msg != NULL)
    fprintf(stderr, "%s: %s\n", progname, msg);
  fputs(usage_text, stderr);
  return EXIT_USAGE;
}


struct job {
  int argc;
  char **argv;
  int first;      /* index of the script / chunk in argv */
  int kind;       /* 'r' run, 'e' chunk, 'm' a command module, 'i' REPL */
  const char *module;  /* for 'm': the Lua module whose main(...) runs */
  int status;     /* exit status */
};


/* Protected main: everything that can raise runs here. */
static int pmain (lua_State *L) {
  struct job *job = (struct job *)lua_touserdata(L, 1);
  int status, n;
  createargtable(L, job->argv, job->argc, job->first);
  if (job->kind == 'i') {
    job->status = kumo_repl(L, msghandler);
    return 0;
  }
  if (job->kind == 'r')  /* "-": stdin, as lua.c */
    status = luaL_loadfile(L, strcmp(job->argv[job->first], "-") == 0
                              ? NULL : job->argv[job->first]);
  else if (job->kind == 'e')
    status = luaL_loadbuffer(L, job->argv[job->first],
                             strlen(job->argv[job->first]), "=(command line)");
  else {
    lua_pushfstring(L, "return require('%s').main(...)", job->module);
    status = luaL_loadstring(L, lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  if (status != LUA_OK) {
    report(lua_tostring(L, -1));
    job->status = EXIT_SCRIPT;
    return 0;
  }
  n = pushargs(L);
  if (job->kind == 'm') {
    /* the command's exit code comes back as its first result */
    int base = lua_gettop(L) - n;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    status = lua_pcall(L, n, 1, base);
    if (status != LUA_OK) {
      report(lua_tostring(L, -1));
      job->status = EXIT_SCRIPT;
    }
    else
      job->status = (int)luaL_optinteger(L, -1, 0);
    return 0;
  }
  status = docall(L, n);
  /* tasks a script spawned (kumo.spawn) run to completion before exit */
  if (status == LUA_OK) {
    status = luaL_loadstring(L, "local s = package.loaded['kumo.sched']\n"
                                "if s then s.run() end");
    if (status == LUA_OK)
      status = docall(L, 0);
    else
      report(lua_tostring(L, -1));
  }
  job->status = status == LUA_OK ? EXIT_SUCCESS : EXIT_SCRIPT;
  return 0;
}


int main (int argc, char **argv) {
  struct job job = {argc, argv, 0, 0, NULL, EXIT_SUCCESS};
  const char *cmd;
  lua_State *L;
  if (argc > 1 && strcmp(argv[1], "--debug") == 0) {
    /* read by kumo.client (wire log), kumo.cli.* and msghandler */
    if (setenv("KUMO_DEBUG", "1", 1) != 0) {
      report("cannot set KUMO_DEBUG");
      return EXIT_SCRIPT;
    }
    argv[1] = argv[0];
    argv++;
    argc--;
    job.argc = argc;
    job.argv = argv;
  }
  cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL && isatty(0) && isatty(1))
    cmd = "-i";  /* bare kumo on a terminal: the REPL, as lua5.4 */
  if (cmd == NULL)
    return usage("missing command");
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    fputs(usage_text, stdout);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
    return print_version();
  if (strcmp(cmd, "run") == 0) {
    if (argc < 3)
      return usage("'run' needs a script");
    job.kind = 'r';
    job.first = 2;
  }
  else if (strcmp(cmd, "-e") == 0) {
    if (argc < 3)
      return usage("'-e' needs a chunk of code");
    job.kind = 'e';
    job.first = 2;
  }
  else if (strcmp(cmd, "-i") == 0) {
    job.kind = 'i';
    job.first = argc > 1 ? 1 : 0;
  }
  else if (strcmp(cmd, "sandbox") == 0) {
    job.kind = 'm';
    job.module = "kumo.cli.sandbox";
    job.first = 1;
  }
  else if (strcmp(cmd, "__complete") == 0) {  /* hidden: for completion */
    job.kind = 'm';
    job.module = "kumo.cli.complete";
    job.first = 1;
  }
  else if (strcmp(cmd, "call") == 0) {
    job.kind = 'm';
    job.module = "kumo.cli.call";
    job.first = 1;
  }
  else {
    char msg[256];
    snprintf(msg, sizeof(msg), "unknown command '%.200s'", cmd);
    return usage(msg);
  }
  /* libcurl is initialised by kumo.http on first use (start-up stays
  ** free of work a script does not ask for) */
  L = kumo_host_new(argv[0]);
  if (L == NULL) {
    report("cannot create the Lua state: not enough memory");
    return EXIT_SCRIPT;
  }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &job);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    report(lua_tostring(L, -1));
    job.status = EXIT_SCRIPT;
  }
  lua_close(L);
  return job.status;
}
