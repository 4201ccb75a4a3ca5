/* SPDX-License-Identifier: Apache-2.0 */
/*
** Signatures per second of src/sigv4.c called from C, on the benchmark's
** request (an RDS DescribeDBProxies POST, header form). Prints one line:
** "<signatures per second> <signature>" so the caller can check it agrees.
** Usage: sigv4_bench [SECONDS]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kumo/sigv4.h"

static double now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define S(x) x, sizeof(x) - 1

int main (int argc, char **argv) {
  static const struct kumo_sigv4_header headers[] = {
    {S("Host"), S("rds.ap-northeast-1.amazonaws.com")},
    {S("Content-Type"), S("application/x-www-form-urlencoded; charset=utf-8")},
  };
  struct kumo_sigv4_request req;
  struct kumo_sigv4_params p;
  struct kumo_sigv4_result r;
  struct kumo_sigv4_signer *s = kumo_sigv4_signer_new();
  double seconds = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
  long n = 0, i;
  if (s == NULL)
    return 1;
  memset(&req, 0, sizeof(req));
  memset(&p, 0, sizeof(p));
  req.method = "POST";
  req.method_len = 4;
  req.url = "https://rds.ap-northeast-1.amazonaws.com/";
  req.url_len = strlen(req.url);
  req.headers = headers;
  req.nheaders = 2;
  req.body = "Action=DescribeDBProxies&Version=2014-10-31";
  req.body_len = strlen(req.body);
  p.region = "ap-northeast-1";
  p.region_len = strlen(p.region);
  p.service = "rds";
  p.service_len = 3;
  p.access_key_id = "AKIDEXAMPLE";
  p.access_key_id_len = strlen(p.access_key_id);
  p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  p.secret_access_key_len = strlen(p.secret_access_key);
  p.time = 1440938160;
  p.flags = KUMO_SIGV4_NORMALIZE_PATH;
  t0 = now();
  do {
    for (i = 0; i < 10000; i++) {
      if (kumo_sigv4_sign(s, &req, &p, &r) != KUMO_SIGV4_OK)
        return 1;
    }
    n += i;
    t = now() - t0;
  } while (t < seconds);
  printf("%.0f %s\n", (double)n / t, r.signature);
  kumo_sigv4_signer_free(s);
  return 0;
}
