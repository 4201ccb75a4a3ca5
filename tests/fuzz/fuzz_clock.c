/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-sources: src/clock.c */
/*
** libFuzzer target for src/clock.c: parse any bytes; whatever parses must
** format (when in range) and parse back to the same second.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "kumo/clock.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  double t, back;
  const char *err = NULL;
  char buf[KUMO_TIME_BUFSIZE];
  int n;
  if (kumo_clock_parse((const char *)data, size, &t, &err) != 0) {
    if (err == NULL)
      abort();
    return 0;
  }
  if (!isfinite(t))
    abort();
  t = floor(t);
  n = kumo_clock_format(t, KUMO_TIME_ISO8601, 0, buf);
  if (n > 0) {
    if (kumo_clock_parse(buf, (size_t)n, &back, &err) != 0 || back != t)
      abort();
    n = kumo_clock_format(t, KUMO_TIME_RFC822, 0, buf);
    if (n <= 0 || kumo_clock_parse(buf, (size_t)n, &back, &err) != 0
        || back != t)
      abort();
  }
  return 0;
}
