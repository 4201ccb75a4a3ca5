/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/clock.c: calendar, formats, parsing, rejection. */
#include <math.h>
#include <string.h>

#include "kumo/clock.h"
#include "check.h"

#define T 1440938160.0  /* 2015-08-30T12:36:00Z */


static void fmt (double t, enum kumo_time_format f, int ms, const char *want) {
  char buf[KUMO_TIME_BUFSIZE];
  int n = kumo_clock_format(t, f, ms, buf);
  CHECK(n == (int)strlen(want));
  CHECK_STR(buf, want);
}


static void parses (const char *s, double want) {
  double t = -1;
  const char *err = NULL;
  int rc = kumo_clock_parse(s, strlen(s), &t, &err);
  CHECK(rc == 0);
  if (rc != 0)
    fprintf(stderr, "  parsing '%s': %s\n", s, err);
  CHECK(fabs(t - want) < 1e-6);
}


static void rejects (const char *s, const char *why) {
  double t = 42;
  const char *err = NULL;
  CHECK(kumo_clock_parse(s, strlen(s), &t, &err) == -1);
  CHECK(t == 42);
  CHECK(err != NULL);
  if (err != NULL)
    CHECK_HAS(err, why);
}


static void test_format (void) {
  char buf[KUMO_TIME_BUFSIZE];
  fmt(T, KUMO_TIME_ISO8601, 0, "2015-08-30T12:36:00Z");
  fmt(T + 0.25, KUMO_TIME_ISO8601, 1, "2015-08-30T12:36:00.250Z");
  fmt(T, KUMO_TIME_ISO8601, 1, "2015-08-30T12:36:00Z");
  fmt(T + 0.9996, KUMO_TIME_ISO8601, 1, "2015-08-30T12:36:01.000Z");
  fmt(T, KUMO_TIME_ISO8601_MS, 0, "2015-08-30T12:36:00.000Z");
  fmt(T + 0.25, KUMO_TIME_ISO8601_MS, 0, "2015-08-30T12:36:00.250Z");
  fmt(T, KUMO_TIME_AMZ_DATE, 0, "20150830T123600Z");
  fmt(T, KUMO_TIME_RFC822, 0, "Sun, 30 Aug 2015 12:36:00 GMT");
  fmt(0, KUMO_TIME_RFC822, 0, "Thu, 01 Jan 1970 00:00:00 GMT");
  fmt(-86400 * 365.0, KUMO_TIME_ISO8601, 0, "1969-01-01T00:00:00Z");
  fmt(951782400, KUMO_TIME_RFC822, 0, "Tue, 29 Feb 2000 00:00:00 GMT");
  fmt(-62167219200.0, KUMO_TIME_ISO8601, 0, "0000-01-01T00:00:00Z");
  CHECK(kumo_clock_format(253402300800.0, KUMO_TIME_ISO8601, 0, buf) == -1);
  CHECK(kumo_clock_format(NAN, KUMO_TIME_ISO8601, 0, buf) == -1);
  CHECK(kumo_clock_format(INFINITY, KUMO_TIME_RFC822, 0, buf) == -1);
}


static void test_calendar (void) {
  long long d;
  CHECK(kumo_days_from_civil(1970, 1, 1) == 0);
  CHECK(kumo_days_from_civil(2000, 3, 1) == 11017);
  CHECK(kumo_days_from_civil(1969, 12, 31) == -1);
  /* every day from 1900 to 2100 formats and parses back */
  for (d = -25567; d < 47482; d += 1) {
    char buf[KUMO_TIME_BUFSIZE];
    double t = (double)d * 86400 + 3723, back = 0;
    const char *err;
    int n = kumo_clock_format(t, KUMO_TIME_RFC822, 0, buf);
    if (n < 0 || kumo_clock_parse(buf, (size_t)n, &back, &err) != 0
        || back != t) {
      CHECK(!"round trip of a day failed");
      fprintf(stderr, "  day %lld: '%s'\n", d, buf);
      return;
    }
  }
  CHECK(1);
}


static void test_parse (void) {
  parses("2015-08-30T12:36:00Z", T);
  parses("2015-08-30T12:36:00.5Z", T + 0.5);
  parses("2015-08-30T12:36:00,5Z", T + 0.5);
  parses("2015-08-30T12:36:00.123456789Z", T + 0.123456789);
  parses("2015-08-30T14:36:00+02:00", T);
  parses("2015-08-30T14:36:00+0200", T);
  parses("2015-08-30T10:36:00-02", T);
  parses("2015-08-30T12:36:00", T);
  parses("2015-08-30T12:36:00UTC", T);  /* the AWS CLI's credential cache */
  parses("2015-08-30T12:36:00.5utc", T + 0.5);
  parses("2015-08-30T12:36:00GMT", T);
  parses("20150830T123600Z", T);
  parses("2015-08-30", T - 12 * 3600 - 36 * 60);
  parses("Sun, 30 Aug 2015 12:36:00 GMT", T);
  parses("sun, 30 aug 2015 12:36:00 gmt", T);
  parses("30 Aug 2015 12:36:00 UTC", T);
  parses("Sun, 30 Aug 2015 13:36:00 +0100", T);
  parses("1440938160", T);
  parses("1440938160.75", T + 0.75);
  parses("-1", -1);
  parses(" 2015-08-30T12:36:00Z\t", T);
  parses("2016-12-31T23:59:60Z", 1483228800);  /* leap second */
}


static void test_reject (void) {
  rejects("", "empty");
  rejects("   ", "empty");
  rejects("garbage", "day of the month");
  rejects("2015-13-01T00:00:00Z", "month out of range");
  rejects("2015-00-01T00:00:00Z", "month out of range");
  rejects("2015-02-29T00:00:00Z", "day out of range");
  rejects("2015-04-31T00:00:00Z", "day out of range");
  rejects("2015-08-30T24:00:00Z", "time of day out of range");
  rejects("2015-08-30T12:60:00Z", "time of day out of range");
  rejects("2015-08-30T12:36Z", "HH:MM:SS");
  rejects("2015-08-30T12:36:00.Z", "digits after the decimal point");
  rejects("2015-08-30T12:36:00+25:00", "offset out of range");
  rejects("2015-08-30T12:36:00+0", "malformed time zone offset");
  rejects("2015-08-30T12:36:00ZZ", "after the time zone");
  rejects("2015-08-30T12:36:00UT", "expected 'Z', 'UTC' or a +hh:mm offset");
  rejects("2015-08-30T12:36:00UTCX", "after the time zone");
  rejects("2015-08-30X12:36:00Z", "expected 'T'");
  rejects("Sun 30 Aug 2015 12:36:00 GMT", "','");
  rejects("Sun, 30 Agu 2015 12:36:00 GMT", "month name");
  rejects("Sun, 30 Aug 2015 12:36:00", "time zone");
  rejects("Sun, 30 Aug 2015 12:36:00 EST", "time zone");
  rejects("Sun, 30 Aug 15 12:36:00 GMT", "YYYY");
  rejects("1e9", "epoch");
  rejects("12:00", "epoch");
  rejects("1234567890123456", "epoch");
  rejects("2015/08/30", "epoch");
  parses("2015", 2015);  /* fuzz: read past the end */
  parses("12", 12);
}


int main (void) {
  test_format();
  test_calendar();
  test_parse();
  test_reject();
  return check_report("clock_test");
}
