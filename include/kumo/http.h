/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo http: HTTP(S) transfers over one process-wide libcurl multi handle.
** Its transfers share the multi's connection cache (keep-alive across
** calls) and, through a CURLSH, the DNS and TLS session caches. TLS verification is
** always on (AWS_CA_BUNDLE or the system store); proxies come from the
** environment (libcurl's http_proxy/https_proxy/no_proxy); bodies are
** capped. Pure C, no Lua. Not thread-safe: one thread drives it.
**
** Life of a transfer: kumo_http_start() -> kumo_http_run() until it is
** done -> kumo_http_take() or kumo_http_next_done() -> kumo_http_free().
*/
#ifndef KUMO_HTTP_H
#define KUMO_HTTP_H

#include <stddef.h>

#define KUMO_HTTP_MAX_SIZE ((size_t)64 << 20)

struct kumo_http_header {
  const char *name, *value;
};

struct kumo_http_request {
  const char *method;       /* NULL means GET */
  const char *url;
  const struct kumo_http_header *headers;
  size_t nheaders;
  const char *body;         /* NULL: none; copied by kumo_http_start */
  size_t bodylen;
  double timeout;           /* seconds for the whole transfer; <= 0: 60 */
  double connect_timeout;   /* seconds; <= 0: 10 */
  size_t max_size;          /* response body cap; 0: KUMO_HTTP_MAX_SIZE */
  /* Streaming (S3 transfers), both optional. The body is then read from
  ** 'upload_path' ('upload_length' bytes from 'upload_offset'; 'body' must
  ** be NULL), and a 2xx response body is written to 'download_path'
  ** ('max_size' does not apply) instead of memory. */
  const char *upload_path;
  long long upload_offset, upload_length;
  const char *download_path;
  long long download_offset;  /* < 0: create or truncate the file; else
                              ** write from there into the existing file */
  const char *ca_bundle;    /* CA file; NULL: AWS_CA_BUNDLE, else system */
};

/* A transfer. Read-only for callers once done. */
struct kumo_http_xfer {
  long long id;             /* unique, increasing */
  int done;
  /* result, valid when done */
  int curlcode;             /* CURLE_* (0 on success) */
  const char *codename;     /* "CURLE_COULDNT_CONNECT", ... */
  char error[1024];         /* "METHOD URL: curl's error", when failed */
  long status;
  char *body;               /* '\0'-terminated, 'bodylen' bytes */
  size_t bodylen;
  long long downloaded;     /* bytes written to download_path (2xx) */
  int to_file;              /* the body went to download_path */
  char *headers;            /* nheaders pairs "name\0value\0" */
  size_t headerslen;
  size_t nheaders;
};

struct kumo_http_stats {
  long long requests;            /* transfers started */
  long long connections_opened;  /* new connections made by them */
};

/*
** Starts a transfer. Returns NULL and writes a message in 'err' on a bad
** request or when curl cannot be set up.
*/
struct kumo_http_xfer *kumo_http_start (const struct kumo_http_request *req,
                                        char *err, size_t errsize);

/*
** Drives the transfers for at most 'timeout' seconds, returning as soon
** as at least one has completed (or at once when some completion is
** already queued or nothing is in flight). Returns the number of queued
** completions.
*/
size_t kumo_http_run (double timeout);

/*
** Drives the transfers until 'x' is done (curl's timeouts bound the
** wait). Other completions met on the way stay queued.
*/
void kumo_http_wait (struct kumo_http_xfer *x);

/* The oldest queued completion (removed from the queue), or NULL. */
struct kumo_http_xfer *kumo_http_next_done (void);

/* Removes a done transfer 'x' from the completion queue. */
void kumo_http_take (struct kumo_http_xfer *x);

/*
** Frees a transfer: a done one (taken or still queued) or one in flight
** (cancels it).
*/
void kumo_http_free (struct kumo_http_xfer *x);

/* Transfers started and not yet freed. */
size_t kumo_http_pending (void);

/* Transfer by id (in flight or queued), or NULL. */
struct kumo_http_xfer *kumo_http_find (long long id);

/* Connection limits (0: no limit). Returns 0, or -1 when curl refuses. */
int kumo_http_configure (long max_total, long max_host);

void kumo_http_get_stats (struct kumo_http_stats *st);

/* Frees every transfer and the shared handles (idempotent). */
void kumo_http_shutdown (void);

/* Name of a CURLcode ("CURLE_OPERATION_TIMEDOUT"). */
const char *kumo_http_codename (int code);

#endif
