/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo clock: time sources and AWS timestamp formats. Calendar arithmetic
** is done here (days_from_civil, after H. Hinnant) rather than with
** timegm/mktime, so no time zone or locale can leak into a signature.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kumo/clock.h"

static const char *const wdays[] = {
  "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


static double timespec_seconds (clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


double kumo_clock_now (void) {
  return timespec_seconds(CLOCK_REALTIME);
}


double kumo_clock_monotonic (void) {
  return timespec_seconds(CLOCK_MONOTONIC);
}


void kumo_clock_sleep (double seconds) {
  struct timespec req, rem;
  if (!(seconds > 0))  /* also NaN */
    return;
  if (seconds > 1e9)
    seconds = 1e9;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
  while (nanosleep(&req, &rem) != 0 && errno == EINTR)
    req = rem;
}


long long kumo_days_from_civil (long long y, int m, int d) {
  long long era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}


/* Inverse of kumo_days_from_civil. */
static void civil_from_days (long long z, long long *y, int *m, int *d) {
  long long era, doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}


static int days_in_month (long long y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}


int kumo_clock_format (double t, enum kumo_time_format fmt, int millis,
                       char *buf) {
  double whole;
  long long secs, days, y;
  int ms = 0, m, d, hh, mm, ss, wday;
  /* years 0..9999: from -62167219200 to 253402300799 */
  if (!isfinite(t) || t < -62167219200.0 || t >= 253402300800.0)
    return -1;
  whole = floor(t);
  if (fmt == KUMO_TIME_ISO8601_MS)
    millis = 1;
  if (millis && t != whole) {
    ms = (int)floor((t - whole) * 1000.0 + 0.5);
    if (ms >= 1000) {  /* 0.9996 rounds up to the next second */
      ms = 0;
      whole += 1;
    }
  }
  secs = (long long)whole;
  days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  secs -= days * 86400;
  civil_from_days(days, &y, &m, &d);
  if (y > 9999)
    return -1;
  hh = (int)(secs / 3600);
  mm = (int)(secs / 60 % 60);
  ss = (int)(secs % 60);
  wday = (int)(((days % 7) + 11) % 7);  /* 1970-01-01 was a Thursday */
  switch (fmt) {
    case KUMO_TIME_ISO8601:
      if (millis && t != floor(t))
        return snprintf(buf, KUMO_TIME_BUFSIZE,
                        "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        y, m, d, hh, mm, ss, ms);
      return snprintf(buf, KUMO_TIME_BUFSIZE, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                      y, m, d, hh, mm, ss);
    case KUMO_TIME_ISO8601_MS:
      return snprintf(buf, KUMO_TIME_BUFSIZE,
                      "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      y, m, d, hh, mm, ss, ms);
    case KUMO_TIME_AMZ_DATE:
      return snprintf(buf, KUMO_TIME_BUFSIZE, "%04lld%02d%02dT%02d%02d%02dZ",
                      y, m, d, hh, mm, ss);
    case KUMO_TIME_RFC822:
      return snprintf(buf, KUMO_TIME_BUFSIZE,
                      "%s, %02d %s %04lld %02d:%02d:%02d GMT",
                      wdays[wday], d, months[m - 1], y, hh, mm, ss);
  }
  return -1;
}


/* {======================================================
** Parsing: a cursor over s[0..len) and small matchers
** ======================================================= */

struct cursor {
  const char *p, *end;
};


static int at_end (const struct cursor *c) {
  return c->p >= c->end;
}


static int peek (const struct cursor *c) {
  return at_end(c) ? -1 : (unsigned char)*c->p;
}


static int isdigitc (int ch) {
  return ch >= '0' && ch <= '9';
}


/* Exactly 'n' digits into '*v'. */
static int digits (struct cursor *c, int n, int *v) {
  int i, x = 0;
  if (c->end - c->p < n)
    return 0;
  for (i = 0; i < n; i++) {
    if (!isdigitc((unsigned char)c->p[i]))
      return 0;
    x = x * 10 + (c->p[i] - '0');
  }
  c->p += n;
  *v = x;
  return 1;
}


static int accept (struct cursor *c, int ch) {
  if (peek(c) == ch) {
    c->p++;
    return 1;
  }
  return 0;
}


/* Case-insensitive literal. */
static int accept_word (struct cursor *c, const char *w) {
  size_t n = strlen(w), i;
  if ((size_t)(c->end - c->p) < n)
    return 0;
  for (i = 0; i < n; i++) {
    int a = (unsigned char)c->p[i], b = (unsigned char)w[i];
    if (a >= 'A' && a <= 'Z') a += 32;
    if (b >= 'A' && b <= 'Z') b += 32;
    if (a != b)
      return 0;
  }
  c->p += n;
  return 1;
}


/* Optional fraction ".ddd" (any number of digits) into '*frac'. */
static int fraction (struct cursor *c, double *frac) {
  double scale = 0.1;
  *frac = 0;
  if (!accept(c, '.') && !accept(c, ','))
    return 1;
  if (!isdigitc(peek(c)))
    return 0;
  while (isdigitc(peek(c))) {
    *frac += (*c->p - '0') * scale;
    scale /= 10;
    c->p++;
  }
  return 1;
}


struct fields {
  int y, mo, d, h, mi, s;
  double frac;
  int offset;  /* seconds east of UTC */
};


static int check_fields (const struct fields *f, const char **err) {
  if (f->mo < 1 || f->mo > 12) {
    *err = "month out of range (01-12)";
    return -1;
  }
  if (f->d < 1 || f->d > days_in_month(f->y, f->mo)) {
    *err = "day out of range for its month";
    return -1;
  }
  if (f->h > 23 || f->mi > 59 || f->s > 60) {  /* 60: leap second */
    *err = "time of day out of range";
    return -1;
  }
  return 0;
}


static double epoch_of (const struct fields *f) {
  long long days = kumo_days_from_civil(f->y, f->mo, f->d);
  long long secs = (long long)f->h * 3600 + (long long)f->mi * 60 + f->s
                   - f->offset;
  return (double)(days * 86400 + secs) + f->frac;
}


/* 'Z', '+hh:mm', '+hhmm', '+hh' (or '-'); 'UTC' or 'GMT' as the AWS CLI's
** credential cache writes them ("2026-01-02T03:04:05UTC"). */
static int iso_zone (struct cursor *c, struct fields *f, const char **err) {
  int sign, oh, om = 0;
  if (at_end(c) || accept(c, 'Z') || accept(c, 'z')
      || accept_word(c, "UTC") || accept_word(c, "GMT"))
    return 0;  /* no zone: UTC (AWS always sends one; some emulators don't) */
  if (peek(c) != '+' && peek(c) != '-') {
    *err = "expected 'Z', 'UTC' or a +hh:mm offset after the time";
    return -1;
  }
  sign = *c->p++ == '-' ? -1 : 1;
  if (!digits(c, 2, &oh)) {
    *err = "malformed time zone offset";
    return -1;
  }
  if (accept(c, ':')) {
    if (!digits(c, 2, &om)) {
      *err = "malformed time zone offset";
      return -1;
    }
  }
  else if (!at_end(c) && !digits(c, 2, &om)) {
    *err = "malformed time zone offset";
    return -1;
  }
  if (oh > 23 || om > 59) {
    *err = "time zone offset out of range";
    return -1;
  }
  f->offset = sign * (oh * 3600 + om * 60);
  return 0;
}


/* YYYY-MM-DD[THH:MM:SS[.f](Z|offset)] or YYYYMMDDTHHMMSS[.f](Z|offset). */
static int parse_iso (struct cursor *c, double *t, const char **err) {
  struct fields f = {0, 0, 0, 0, 0, 0, 0, 0};
  int basic;
  if (!digits(c, 4, &f.y))
    return (*err = "expected a 4-digit year", -1);
  basic = !accept(c, '-');
  if (!digits(c, 2, &f.mo) || (!basic && !accept(c, '-'))
      || !digits(c, 2, &f.d))
    return (*err = "expected a date YYYY-MM-DD", -1);
  if (at_end(c) && !basic) {  /* a date alone */
    if (check_fields(&f, err) != 0)
      return -1;
    *t = epoch_of(&f);
    return 0;
  }
  if (!accept(c, 'T') && !accept(c, 't') && !(!basic && accept(c, ' ')))
    return (*err = "expected 'T' between date and time", -1);
  if (!digits(c, 2, &f.h) || (!basic && !accept(c, ':'))
      || !digits(c, 2, &f.mi) || (!basic && !accept(c, ':'))
      || !digits(c, 2, &f.s))
    return (*err = basic ? "expected a time HHMMSS"
                         : "expected a time HH:MM:SS", -1);
  if (!fraction(c, &f.frac))
    return (*err = "expected digits after the decimal point", -1);
  if (iso_zone(c, &f, err) != 0)
    return -1;
  if (!at_end(c))
    return (*err = "unexpected characters after the time zone", -1);
  if (check_fields(&f, err) != 0)
    return -1;
  *t = epoch_of(&f);
  return 0;
}


/* [Wdy, ]DD Mon YYYY HH:MM:SS (GMT|UTC|Z|+hhmm) */
static int parse_rfc822 (struct cursor *c, double *t, const char **err) {
  struct fields f = {0, 0, 0, 0, 0, 0, 0, 0};
  int i;
  for (i = 0; i < 7; i++) {
    if (accept_word(c, wdays[i])) {
      if (!accept(c, ','))
        return (*err = "expected ',' after the day of the week", -1);
      while (accept(c, ' '))
        ;
      break;
    }
  }
  if (!digits(c, 2, &f.d) && !digits(c, 1, &f.d))
    return (*err = "expected the day of the month", -1);
  if (!accept(c, ' '))
    return (*err = "expected ' ' after the day", -1);
  for (i = 0; i < 12; i++)
    if (accept_word(c, months[i]))
      break;
  if (i == 12)
    return (*err = "expected a month name (Jan..Dec)", -1);
  f.mo = i + 1;
  if (!accept(c, ' ') || !digits(c, 4, &f.y) || !accept(c, ' '))
    return (*err = "expected ' YYYY ' after the month", -1);
  if (!digits(c, 2, &f.h) || !accept(c, ':') || !digits(c, 2, &f.mi)
      || !accept(c, ':') || !digits(c, 2, &f.s))
    return (*err = "expected a time HH:MM:SS", -1);
  if (!fraction(c, &f.frac))
    return (*err = "expected digits after the decimal point", -1);
  if (!accept(c, ' '))
    return (*err = "expected a time zone (GMT)", -1);
  if (!accept_word(c, "GMT") && !accept_word(c, "UTC") && !accept(c, 'Z')) {
    int sign, oh, om;
    if (peek(c) != '+' && peek(c) != '-')
      return (*err = "expected a time zone (GMT, UTC or +hhmm)", -1);
    sign = *c->p++ == '-' ? -1 : 1;
    if (!digits(c, 2, &oh) || !digits(c, 2, &om) || oh > 23 || om > 59)
      return (*err = "malformed time zone offset (+hhmm)", -1);
    f.offset = sign * (oh * 3600 + om * 60);
  }
  if (!at_end(c))
    return (*err = "unexpected characters after the time zone", -1);
  if (check_fields(&f, err) != 0)
    return -1;
  *t = epoch_of(&f);
  return 0;
}


/* [-]digits[.digits] */
static int parse_epoch (struct cursor *c, double *t, const char **err) {
  double v = 0, frac;
  int neg = accept(c, '-'), n = 0;
  while (isdigitc(peek(c))) {
    v = v * 10 + (*c->p++ - '0');
    n++;
  }
  if (n == 0 || n > 15 || !fraction(c, &frac) || !at_end(c))
    return (*err = "not an epoch number", -1);
  *t = neg ? -(v + frac) : v + frac;
  return 0;
}

/* }====================================================== */


int kumo_clock_parse (const char *s, size_t len, double *t, const char **err) {
  struct cursor c;
  size_t i, ndigits = 0;
  c.p = s;
  c.end = s + len;
  while (!at_end(&c) && (*c.p == ' ' || *c.p == '\t'))
    c.p++;
  while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
    c.end--;
  if (at_end(&c)) {
    *err = "empty timestamp";
    return -1;
  }
  for (i = 0; c.p + i < c.end && isdigitc((unsigned char)c.p[i]); i++)
    ndigits++;
  if (!isdigitc(peek(&c)) && peek(&c) != '-')
    return parse_rfc822(&c, t, err);
  /* an ISO date starts with 4 digits and '-', or 8 digits and 'T' */
  if ((ndigits == 4 && c.p + 4 < c.end && c.p[4] == '-')
      || (ndigits == 8 && c.p + 8 < c.end
          && (c.p[8] == 'T' || c.p[8] == 't')))
    return parse_iso(&c, t, err);
  if (ndigits <= 2 && c.p + ndigits < c.end && c.p[ndigits] == ' ')
    return parse_rfc822(&c, t, err);  /* "30 Aug 2015 ..." */
  return parse_epoch(&c, t, err);
}
