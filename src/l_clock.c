/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.clock: Lua binding of clock.c. Times are epoch seconds (floats).
*/
#include <lua.h>
#include <lauxlib.h>

#include "kumo/clock.h"
#include "kumo/host.h"


/*** now() -> wall-clock epoch seconds (float) */
static int clock_now (lua_State *L) {
  lua_pushnumber(L, (lua_Number)kumo_clock_now());
  return 1;
}


/*** monotonic() -> seconds since an arbitrary point (float) */
static int clock_monotonic (lua_State *L) {
  lua_pushnumber(L, (lua_Number)kumo_clock_monotonic());
  return 1;
}


/*** sleep(seconds): blocks the process (use kumo.sched inside tasks) */
static int clock_sleep (lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s == s, 1, "seconds must be a number, not NaN");
  kumo_clock_sleep((double)s);
  return 0;
}


static int format (lua_State *L, enum kumo_time_format fmt, int millis) {
  lua_Number t = luaL_checknumber(L, 1);
  char buf[KUMO_TIME_BUFSIZE];
  int n = kumo_clock_format((double)t, fmt, millis, buf);
  luaL_argcheck(L, n > 0, 1, "time out of range (years 0000-9999)");
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}


/*** iso8601(t [, millis]) -> "2015-08-30T12:36:00Z" (".123Z" with millis) */
static int clock_iso8601 (lua_State *L) {
  return format(L, KUMO_TIME_ISO8601, lua_toboolean(L, 2));
}


/*** iso8601_ms(t) -> "2015-08-30T12:36:00.000Z", always with millis (logs) */
static int clock_iso8601_ms (lua_State *L) {
  return format(L, KUMO_TIME_ISO8601_MS, 1);
}


/*** amz_date(t) -> "20150830T123600Z" */
static int clock_amz_date (lua_State *L) {
  return format(L, KUMO_TIME_AMZ_DATE, 0);
}


/*** rfc822(t) -> "Sun, 30 Aug 2015 12:36:00 GMT" */
static int clock_rfc822 (lua_State *L) {
  return format(L, KUMO_TIME_RFC822, 0);
}


/*** parse(s) -> epoch seconds (float), or nil, message; a number is
** returned as it is (JSON protocols may send epoch numbers) */
static int clock_parse (lua_State *L) {
  size_t len;
  const char *s;
  const char *err = NULL;
  double t;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_settop(L, 1);
    return 1;
  }
  s = luaL_checklstring(L, 1, &len);
  if (kumo_clock_parse(s, len, &t, &err) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "clock.parse: cannot parse '%s' as a timestamp: %s "
                       "(expected ISO 8601, RFC 822 or epoch seconds)",
                    len > 64 ? "(too long to show)" : s, err);
    return 2;
  }
  lua_pushnumber(L, (lua_Number)t);
  return 1;
}


static const luaL_Reg clock_funcs[] = {
  {"amz_date", clock_amz_date},
  {"iso8601", clock_iso8601},
  {"iso8601_ms", clock_iso8601_ms},
  {"monotonic", clock_monotonic},
  {"now", clock_now},
  {"parse", clock_parse},
  {"rfc822", clock_rfc822},
  {"sleep", clock_sleep},
  {NULL, NULL}
};


int luaopen_kumo_clock (lua_State *L) {
  luaL_newlib(L, clock_funcs);
  return 1;
}
