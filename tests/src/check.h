/* SPDX-License-Identifier: Apache-2.0 */
/*
** A tiny assert harness for kumo's C unit tests: CHECK* count and report
** failures with file:line; check_report() prints "N passed, N failed" and
** gives the exit status.
*/
#ifndef KUMO_CHECK_H
#define KUMO_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) \
  check_one((cond) != 0, __FILE__, __LINE__, #cond, NULL, NULL)

/* Two '\0'-terminated strings are equal (shows both when not). */
#define CHECK_STR(got, want) \
  check_str((got), (want), __FILE__, __LINE__, #got)

/* 'got' holds 'want' as a substring. */
#define CHECK_HAS(got, want) \
  check_one(strstr((got), (want)) != NULL, __FILE__, __LINE__, #got, \
            (got), (want))

static void check_one (int ok, const char *file, int line, const char *what,
                       const char *got, const char *want) {
  if (ok) {
    check_passed++;
    return;
  }
  check_failed++;
  fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  if (got != NULL)
    fprintf(stderr, "  got:  '%s'\n  want: '%s'\n", got, want);
}

static void check_str (const char *got, const char *want, const char *file,
                       int line, const char *what) {
  check_one(got != NULL && strcmp(got, want) == 0, file, line, what,
            got ? got : "(null)", want);
}

static int check_report (const char *name) {
  printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
  return check_failed != 0;
}

#endif
