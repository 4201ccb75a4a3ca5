/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo clock: wall and monotonic time, sleeping, and the timestamp formats
** AWS uses, both ways. Pure C, no Lua. Times are seconds since the Unix
** epoch (UTC) as doubles, so fractions of a second survive.
*/
#ifndef KUMO_CLOCK_H
#define KUMO_CLOCK_H

#include <stddef.h>

enum kumo_time_format {
  KUMO_TIME_ISO8601,   /* 2015-08-30T12:36:00Z, or .123Z with millis */
  KUMO_TIME_AMZ_DATE,  /* 20150830T123600Z (SigV4's X-Amz-Date) */
  KUMO_TIME_RFC822,    /* Sun, 30 Aug 2015 12:36:00 GMT (HTTP-date) */
  KUMO_TIME_ISO8601_MS /* 2015-08-30T12:36:00.000Z: always millis (logs) */
};

/* Longest formatted time, with the terminating '\0'. */
#define KUMO_TIME_BUFSIZE 40

double kumo_clock_now (void);
double kumo_clock_monotonic (void);
/* Sleeps 'seconds' (restarts after signals); negative means 0. */
void kumo_clock_sleep (double seconds);

/*
** Formats 't' in 'buf' (KUMO_TIME_BUFSIZE bytes). With 'millis', ISO 8601
** gets a ".mmm" fraction when 't' has one. Returns the length, or -1 when
** 't' is not finite or its year is outside 0..9999.
*/
int kumo_clock_format (double t, enum kumo_time_format fmt, int millis,
                       char *buf);

/*
** Parses an ISO 8601 date-time (extended or basic form, fractions, 'Z',
** 'UTC', 'GMT' or a +hh:mm offset, none meaning UTC; a date alone means
** midnight UTC), an RFC 822 / RFC 1123
** HTTP-date (GMT, UTC or a +hhmm zone) or an epoch number ("1440938160",
** "1440938160.5"). The whole of s[0..len) must match. Returns 0 and sets
** '*t', or -1 and sets '*err' to a static message.
*/
int kumo_clock_parse (const char *s, size_t len, double *t, const char **err);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
long long kumo_days_from_civil (long long y, int m, int d);

#endif
