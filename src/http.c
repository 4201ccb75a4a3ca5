/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo http: libcurl multi interface behind a small queue. Every transfer
** is an easy handle in the one multi handle, so all share its connection
** cache; a CURLSH shares DNS and TLS sessions. Connections are not put in
** the CURLSH: a shared connection pool bypasses the multi's per-host and
** total limits (curl issue 22265, Symfony's fix #64046). Completed transfers wait in a FIFO
** until the caller takes them, so a blocking request driven by
** kumo_http_run() never loses another request's completion.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kumo/clock.h"
#include "kumo/http.h"

#define DEFAULT_TIMEOUT 60.0
#define DEFAULT_CONNECT_TIMEOUT 10.0

struct xfer {
  struct kumo_http_xfer pub;   /* first: a kumo_http_xfer * is a xfer * */
  CURL *easy;                  /* NULL once done */
  struct curl_slist *hdrs;
  char *reqbody;
  size_t bodycap, headerscap, max_size;
  int oversize;                /* the write callback refused the body */
  FILE *upload, *download;     /* streaming: the request body, a 2xx body */
  long long upload_left;
  int file_error;              /* errno of a failed file read or write */
  const char *file_op;         /* "upload" or "download": which failed */
  int status_known;            /* on_body has looked at the status */
  int head;                    /* a HEAD: no body, whatever Content-Length says */
  int queued;
  char what[256];              /* "METHOD url" for messages (redacted) */
  char errbuf[CURL_ERROR_SIZE];
  struct xfer *prev, *next;    /* all transfers */
  struct xfer *qnext;          /* completion queue */
};

static struct {
  int ready;
  CURLM *multi;
  CURLSH *share;
  struct xfer *all;
  struct xfer *qhead, *qtail;
  size_t count;
  long long nextid;
  struct kumo_http_stats stats;
} G;


#define CODE(c) case c: return #c;
const char *kumo_http_codename (int code) {
  switch ((CURLcode)code) {
    CODE(CURLE_OK) CODE(CURLE_UNSUPPORTED_PROTOCOL) CODE(CURLE_FAILED_INIT)
    CODE(CURLE_URL_MALFORMAT) CODE(CURLE_COULDNT_RESOLVE_PROXY)
    CODE(CURLE_COULDNT_RESOLVE_HOST) CODE(CURLE_COULDNT_CONNECT)
    CODE(CURLE_WEIRD_SERVER_REPLY) CODE(CURLE_HTTP2)
    CODE(CURLE_PARTIAL_FILE) CODE(CURLE_HTTP_RETURNED_ERROR)
    CODE(CURLE_WRITE_ERROR) CODE(CURLE_READ_ERROR) CODE(CURLE_OUT_OF_MEMORY)
    CODE(CURLE_OPERATION_TIMEDOUT) CODE(CURLE_RANGE_ERROR)
    CODE(CURLE_SSL_CONNECT_ERROR) CODE(CURLE_ABORTED_BY_CALLBACK)
    CODE(CURLE_BAD_FUNCTION_ARGUMENT) CODE(CURLE_TOO_MANY_REDIRECTS)
    CODE(CURLE_GOT_NOTHING) CODE(CURLE_SEND_ERROR) CODE(CURLE_RECV_ERROR)
    CODE(CURLE_SSL_CERTPROBLEM) CODE(CURLE_SSL_CIPHER)
    CODE(CURLE_PEER_FAILED_VERIFICATION) CODE(CURLE_BAD_CONTENT_ENCODING)
    CODE(CURLE_FILESIZE_EXCEEDED) CODE(CURLE_SEND_FAIL_REWIND)
    CODE(CURLE_SSL_CACERT_BADFILE) CODE(CURLE_AGAIN)
    CODE(CURLE_SSL_CRL_BADFILE) CODE(CURLE_SSL_ISSUER_ERROR)
    CODE(CURLE_HTTP2_STREAM) CODE(CURLE_HTTP3) CODE(CURLE_PROXY)
    CODE(CURLE_SSL_CLIENTCERT) CODE(CURLE_UNRECOVERABLE_POLL)
    default: return "CURLE_UNKNOWN";
  }
}
#undef CODE


/*
** Initialise libcurl and create the multi and share handles on first use
** (a script that makes no request pays nothing at start-up).
*/
static int setup (void) {
  if (G.ready)
    return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  G.multi = curl_multi_init();
  G.share = curl_share_init();
  if (G.multi == NULL || G.share == NULL)
    goto fail;
  /* keep idle connections between rounds of requests: libcurl's default
     cache is 4 x the handles in flight, so it shrinks as a round ends */
  curl_multi_setopt(G.multi, CURLMOPT_MAXCONNECTS, 256L);
  if (curl_share_setopt(G.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)
      || curl_share_setopt(G.share, CURLSHOPT_SHARE,
                           CURL_LOCK_DATA_SSL_SESSION))
    goto fail;
  G.ready = 1;
  return 0;
fail:
  if (G.share != NULL)
    curl_share_cleanup(G.share);
  if (G.multi != NULL)
    curl_multi_cleanup(G.multi);
  G.share = NULL;
  G.multi = NULL;
  curl_global_cleanup();
  return -1;
}


/* {======================================================
** Response buffers
** ======================================================= */

/* Grow *buf (capacity *cap) to hold 'need' bytes; -1 when out of memory. */
static int reserve (char **buf, size_t *cap, size_t need) {
  size_t n = *cap ? *cap : 256;
  char *p;
  if (need <= *cap)
    return 0;
  while (n < need)
    n *= 2;
  p = (char *)realloc(*buf, n);
  if (p == NULL)
    return -1;
  *buf = p;
  *cap = n;
  return 0;
}


/*
** A 2xx body goes to the download file when there is one; any other
** status keeps its (error) body in memory for the caller to read.
*/
static int body_to_file (struct xfer *x) {
  if (x->download == NULL)
    return 0;
  if (!x->status_known) {
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    x->pub.to_file = status >= 200 && status < 300;
    x->status_known = 1;
  }
  return x->pub.to_file;
}


static size_t on_body (char *data, size_t size, size_t n, void *ud) {
  struct xfer *x = (struct xfer *)ud;
  size_t len = size * n;
  if (body_to_file(x)) {
    if (fwrite(data, 1, len, x->download) != len) {
      x->file_error = errno ? errno : EIO;
      x->file_op = "download";
      return CURL_WRITEFUNC_ERROR;
    }
    x->pub.downloaded += (long long)len;
    return len;
  }
  if (x->pub.bodylen + len > x->max_size) {
    x->oversize = 1;
    return CURL_WRITEFUNC_ERROR;
  }
  if (reserve(&x->pub.body, &x->bodycap, x->pub.bodylen + len + 1) != 0)
    return CURL_WRITEFUNC_ERROR;
  memcpy(x->pub.body + x->pub.bodylen, data, len);
  x->pub.bodylen += len;
  x->pub.body[x->pub.bodylen] = '\0';
  return len;
}


/* The upload's next piece, never past its length. */
static size_t on_read (char *buf, size_t size, size_t n, void *ud) {
  struct xfer *x = (struct xfer *)ud;
  size_t want = size * n, got;
  if ((long long)want > x->upload_left)
    want = (size_t)x->upload_left;
  if (want == 0)
    return 0;
  got = fread(buf, 1, want, x->upload);
  if (got == 0) {  /* the file shrank or failed under us */
    x->file_error = ferror(x->upload) ? (errno ? errno : EIO) : ERANGE;
    x->file_op = "upload";
    return CURL_READFUNC_ABORT;
  }
  x->upload_left -= (long long)got;
  return got;
}


/* curl rewinds the body when it resends it (a redirect or an auth retry). */
static int on_seek (void *ud, curl_off_t offset, int origin) {
  struct xfer *x = (struct xfer *)ud;
  (void)x;
  (void)offset;
  (void)origin;
  return CURL_SEEKFUNC_CANTSEEK;
}


/*
** Open the streaming files of a request: the upload positioned at its
** offset, the download file truncated. Returns an errno or 0.
*/
static int open_files (struct xfer *x, const struct kumo_http_request *req) {
  if (req->upload_path != NULL) {
    if (req->upload_offset < 0 || req->upload_length < 0)
      return EINVAL;
    x->upload = fopen(req->upload_path, "rb");
    if (x->upload == NULL)
      return errno;
    if (fseeko(x->upload, (off_t)req->upload_offset, SEEK_SET) != 0)
      return errno;
    x->upload_left = req->upload_length;
  }
  if (req->download_path != NULL) {  /* a part of a file: in place */
    x->download = fopen(req->download_path,
                        req->download_offset < 0 ? "wb" : "r+b");
    if (x->download == NULL)
      return errno;
    if (req->download_offset > 0
        && fseeko(x->download, (off_t)req->download_offset, SEEK_SET) != 0)
      return errno;
  }
  return 0;
}


static int add_bytes (struct xfer *x, const char *s, size_t len) {
  if (reserve(&x->pub.headers, &x->headerscap, x->pub.headerslen + len) != 0)
    return -1;
  memcpy(x->pub.headers + x->pub.headerslen, s, len);
  x->pub.headerslen += len;
  return 0;
}


/*
** One header line. A status line starts a new header block (after 1xx
** responses and proxy CONNECTs only the last block stays); a line that
** starts with blanks continues the previous value (obsolete folding).
*/
static size_t on_header (char *line, size_t size, size_t n, void *ud) {
  struct xfer *x = (struct xfer *)ud;
  size_t len = size * n, namelen;
  const char *colon, *v, *end = line + len;
  while (end > line && (end[-1] == '\r' || end[-1] == '\n'))
    end--;
  if (end == line)
    return len;  /* the blank line closing the block */
  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    x->pub.headerslen = 0;
    x->pub.nheaders = 0;
    return len;
  }
  if ((line[0] == ' ' || line[0] == '\t') && x->pub.nheaders > 0) {
    for (v = line; v < end && (*v == ' ' || *v == '\t'); v++)
      ;
    x->pub.headerslen--;  /* drop the value's '\0' */
    if (add_bytes(x, " ", 1) || add_bytes(x, v, (size_t)(end - v))
        || add_bytes(x, "", 1))
      return CURL_WRITEFUNC_ERROR;
    return len;
  }
  colon = memchr(line, ':', (size_t)(end - line));
  if (colon == NULL)
    return len;  /* not a header: ignore */
  namelen = (size_t)(colon - line);
  for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
    ;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  if (add_bytes(x, line, namelen) || add_bytes(x, "", 1)
      || add_bytes(x, v, (size_t)(end - v)) || add_bytes(x, "", 1))
    return CURL_WRITEFUNC_ERROR;
  x->pub.nheaders++;
  return len;
}

/* }====================================================== */


/* "METHOD url" with the query and any user:password hidden. */
static void describe (struct xfer *x, const char *method, const char *url) {
  const char *scheme = strstr(url, "://");
  const char *auth = scheme ? scheme + 3 : url;
  const char *pathstart = auth + strcspn(auth, "/?#");
  const char *at = memchr(auth, '@', (size_t)(pathstart - auth));
  size_t base = strcspn(url, "?#");
  if (at != NULL)
    snprintf(x->what, sizeof(x->what), "%s %.*s***%.*s%s", method,
             (int)(auth - url), url, (int)(url + base - at), at,
             url[base] ? "?(query hidden)" : "");
  else
    snprintf(x->what, sizeof(x->what), "%s %.*s%s", method, (int)base, url,
             url[base] ? "?(query hidden)" : "");
}


/* Header names are tokens; no CR, LF or NUL anywhere (no injection). */
static const char *check_header (const struct kumo_http_header *h) {
  const char *p;
  if (h->name == NULL || h->name[0] == '\0' || h->value == NULL)
    return "a header needs a name and a value";
  for (p = h->name; *p; p++)
    if (*p <= ' ' || *p == ':' || *p == 127)
      return "a header name has a space, ':' or a control character";
  if (strpbrk(h->value, "\r\n") != NULL)
    return "a header value has a CR or LF";
  return NULL;
}


static int has_header (const struct kumo_http_request *req,
                       const char *name) {
  size_t i;
  for (i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0)
      return 1;
  return 0;
}


/* Append "name: value" ("name;" for an empty value, "name:" to remove). */
static int add_header (struct xfer *x, const char *name, const char *value,
                       int remove) {
  struct curl_slist *l;
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = (char *)malloc(n);
  if (line == NULL)
    return -1;
  if (remove)
    snprintf(line, n, "%s:", name);
  else if (value[0] == '\0')
    snprintf(line, n, "%s;", name);
  else
    snprintf(line, n, "%s: %s", name, value);
  l = curl_slist_append(x->hdrs, line);
  free(line);
  if (l == NULL)
    return -1;
  x->hdrs = l;
  return 0;
}


static int set_headers (struct xfer *x, const struct kumo_http_request *req,
                        int hasbody) {
  size_t i;
  for (i = 0; i < req->nheaders; i++)
    if (add_header(x, req->headers[i].name, req->headers[i].value, 0))
      return -1;
  /* send exactly what was asked: no Expect: 100-continue round trip, no
  ** curl default Accept or form Content-Type */
  if (!has_header(req, "Expect") && add_header(x, "Expect", "", 1))
    return -1;
  if (!has_header(req, "Accept") && add_header(x, "Accept", "", 1))
    return -1;
  if (hasbody && !has_header(req, "Content-Type")
      && add_header(x, "Content-Type", "", 1))
    return -1;
  return 0;
}


static long millis (double seconds, double dflt) {
  if (!(seconds > 0))
    seconds = dflt;
  if (seconds > 86400.0 * 365)
    seconds = 86400.0 * 365;
  return (long)(seconds * 1000.0 + 0.5);
}


/* Method and body options. The body is copied into the transfer. */
static CURLcode set_method (struct xfer *x, const char *m,
                            const struct kumo_http_request *req) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  const char *body = req->body;
  size_t len = req->bodylen;
  if (x->upload != NULL) {  /* streamed from a file, never copied */
    rc = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                            (curl_off_t)x->upload_left);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_READDATA, (void *)x);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_SEEKDATA, (void *)x);
    if (!rc && strcmp(m, "PUT") != 0)
      rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    return rc;
  }
  if (strcmp(m, "HEAD") == 0) {  /* no body either way; none comes back */
    x->head = 1;
    return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  }
  if (body == NULL && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0
                       || strcmp(m, "PATCH") == 0)) {
    body = "";  /* send Content-Length: 0 */
    len = 0;
  }
  if (body != NULL) {
    x->reqbody = (char *)malloc(len + 1);
    if (x->reqbody == NULL)
      return CURLE_OUT_OF_MEMORY;
    memcpy(x->reqbody, body, len);
    rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (!rc)
      rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->reqbody);
    if (!rc && strcmp(m, "POST") != 0)
      rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  }
  else if (strcmp(m, "GET") == 0)
    rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  else if (strcmp(m, "HEAD") == 0)
    rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else
    rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  return rc;
}


/*
** The proxy for 'url' from the environment, as the AWS CLI (Python's
** urllib.request.getproxies) reads it: <scheme>_proxy, lower case first,
** then upper case, except HTTP_PROXY under CGI (REQUEST_METHOD set: the
** "httpoxy" header). No all_proxy: botocore uses only the scheme's entry.
** "" means no proxy (curl then ignores its own environment). no_proxy and
** NO_PROXY are left to curl, which reads both.
*/
static const char *env_proxy (const char *url) {
  int https = strncasecmp(url, "https://", 8) == 0;
  const char *p = getenv(https ? "https_proxy" : "http_proxy");
  if (p == NULL || p[0] == '\0') {
    if (https || getenv("REQUEST_METHOD") == NULL)
      p = getenv(https ? "HTTPS_PROXY" : "HTTP_PROXY");
  }
  return (p == NULL) ? "" : p;
}


static CURLcode set_options (struct xfer *x,
                             const struct kumo_http_request *req) {
  CURL *e = x->easy;
  const char *ca = req->ca_bundle;
  CURLcode rc = CURLE_OK;
#define SET(opt, val) if (!rc) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_PRIVATE, (void *)x);
  SET(CURLOPT_SHARE, G.share);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_PATH_AS_IS, 1L);  /* the path as signed: S3 keys may hold ./ and ../ */
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_PROXY, env_proxy(req->url));
  if (ca == NULL || ca[0] == '\0')
    ca = getenv("AWS_CA_BUNDLE");
  if (ca != NULL && ca[0] != '\0')
    SET(CURLOPT_CAINFO, ca);
  SET(CURLOPT_TIMEOUT_MS, millis(req->timeout, DEFAULT_TIMEOUT));
  SET(CURLOPT_CONNECTTIMEOUT_MS,
      millis(req->connect_timeout, DEFAULT_CONNECT_TIMEOUT));
  if (x->download == NULL && !x->head)  /* a file download has no size cap */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_size);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_HTTPHEADER, x->hdrs);
#undef SET
  return rc;
}


static void link_xfer (struct xfer *x) {
  x->next = G.all;
  if (G.all != NULL)
    G.all->prev = x;
  G.all = x;
  G.count++;
}


static void unlink_xfer (struct xfer *x) {
  if (x->prev != NULL)
    x->prev->next = x->next;
  else
    G.all = x->next;
  if (x->next != NULL)
    x->next->prev = x->prev;
  G.count--;
}


/* Close the streaming files; a failed close of the download is its error. */
static void release_files (struct xfer *x) {
  if (x->upload != NULL)
    fclose(x->upload);
  x->upload = NULL;
  if (x->download != NULL && fclose(x->download) != 0 && !x->file_error) {
    x->file_error = errno ? errno : EIO;
    x->file_op = "download";
  }
  x->download = NULL;
}


/* Release curl's side of a transfer (handle, header list, request body). */
static void release_easy (struct xfer *x) {
  if (x->easy != NULL) {
    curl_multi_remove_handle(G.multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
  }
  curl_slist_free_all(x->hdrs);
  x->hdrs = NULL;
  free(x->reqbody);
  x->reqbody = NULL;
  release_files(x);
}


static int valid_method (const char *m) {
  const char *p;
  if (m[0] == '\0' || strlen(m) > 32)
    return 0;
  for (p = m; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '-'
          || *p == '_'))
      return 0;
  return 1;
}


struct kumo_http_xfer *kumo_http_start (const struct kumo_http_request *req,
                                        char *err, size_t errsize) {
  const char *m = req->method ? req->method : "GET";
  struct xfer *x = NULL;
  size_t i;
  CURLcode rc;
  if (req->url == NULL || (strncasecmp(req->url, "http://", 7) != 0
                           && strncasecmp(req->url, "https://", 8) != 0)) {
    snprintf(err, errsize, "url must start with http:// or https://");
    return NULL;
  }
  if (!valid_method(m)) {
    snprintf(err, errsize, "method must be a word such as GET or POST");
    return NULL;
  }
  for (i = 0; i < req->nheaders; i++) {
    const char *why = check_header(&req->headers[i]);
    if (why != NULL) {
      snprintf(err, errsize, "header %zu: %s", i + 1, why);
      return NULL;
    }
  }
  if (setup() != 0) {
    snprintf(err, errsize, "cannot initialise libcurl");
    return NULL;
  }
  x = (struct xfer *)calloc(1, sizeof(*x));
  if (x == NULL)
    goto nomem;
  x->max_size = req->max_size ? req->max_size : KUMO_HTTP_MAX_SIZE;
  describe(x, m, req->url);
  if (req->upload_path != NULL && req->body != NULL) {
    snprintf(err, errsize, "%s: a body and an upload file at once", x->what);
    goto fail;
  }
  if (open_files(x, req) != 0) {
    snprintf(err, errsize, "%s: %s: %s", x->what,
             x->upload == NULL && req->upload_path != NULL ? req->upload_path
             : req->download_path, strerror(errno));
    goto fail;
  }
  x->easy = curl_easy_init();
  if (x->easy == NULL || set_headers(x, req, req->body != NULL
                                      || x->upload != NULL || strcmp(m, "POST") == 0
                                      || strcmp(m, "PUT") == 0
                                      || strcmp(m, "PATCH") == 0) != 0)
    goto nomem;
  rc = set_method(x, m, req);
  if (!rc)
    rc = set_options(x, req);
  if (rc) {
    snprintf(err, errsize, "%s: %s", x->what, curl_easy_strerror(rc));
    goto fail;
  }
  if (curl_multi_add_handle(G.multi, x->easy) != CURLM_OK) {
    snprintf(err, errsize, "%s: cannot add the transfer to curl", x->what);
    goto fail;
  }
  x->pub.id = ++G.nextid;
  G.stats.requests++;
  link_xfer(x);
  return &x->pub;
nomem:
  snprintf(err, errsize, "%s %s: out of memory", m, req->url);
fail:
  if (x != NULL) {
    release_easy(x);  /* removing a handle never added is harmless */
    free(x);
  }
  return NULL;
}


/* Record the outcome of a finished transfer and queue it. */
static void complete (struct xfer *x, CURLcode result) {
  long status = 0, conns = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns);
  G.stats.connections_opened += conns;
  x->pub.status = status;
  release_files(x);
  if (x->file_error) {
    int up = strcmp(x->file_op, "upload") == 0;
    result = up ? CURLE_READ_ERROR : CURLE_WRITE_ERROR;
    snprintf(x->pub.error, sizeof(x->pub.error), "%s: %s file: %s", x->what,
             x->file_op, strerror(x->file_error));
  }
  else if (x->oversize || result == CURLE_FILESIZE_EXCEEDED) {
    result = CURLE_FILESIZE_EXCEEDED;
    snprintf(x->pub.error, sizeof(x->pub.error),
             "%s: response body larger than max_size (%zu bytes)", x->what,
             x->max_size);
  }
  else if (result != CURLE_OK)
    snprintf(x->pub.error, sizeof(x->pub.error), "%s: %.200s%s%.255s%s",
             x->what,
             curl_easy_strerror(result), x->errbuf[0] ? " (" : "",
             x->errbuf, x->errbuf[0] ? ")" : "");
  x->pub.curlcode = (int)result;
  x->pub.codename = kumo_http_codename((int)result);
  if (x->pub.body == NULL)  /* an empty body is "" , never NULL */
    x->pub.body = (char *)calloc(1, 1);
  release_easy(x);
  x->pub.done = 1;
  x->queued = 1;
  x->qnext = NULL;
  if (G.qtail != NULL)
    G.qtail->qnext = x;
  else
    G.qhead = x;
  G.qtail = x;
}


static void drain (void) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(G.multi, &left)) != NULL) {
    if (msg->msg == CURLMSG_DONE) {
      struct xfer *x = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      if (x != NULL)
        complete(x, msg->data.result);
    }
  }
}


static size_t queued (void) {
  size_t n = 0;
  struct xfer *x;
  for (x = G.qhead; x != NULL; x = x->qnext)
    n++;
  return n;
}


/*
** Drive curl until 'target' is done (or, with no target, until some
** completion is queued), nothing is in flight, or 'deadline' passes.
*/
static void drive (struct xfer *target, double deadline) {
  for (;;) {
    int running = 0;
    double left;
    curl_multi_perform(G.multi, &running);
    drain();
    if (target != NULL ? target->pub.done : G.qhead != NULL)
      return;
    if (running == 0)
      return;
    left = deadline - kumo_clock_monotonic();
    if (left <= 0)
      return;
    curl_multi_poll(G.multi, NULL, 0, left > 1 ? 1000 : (int)(left * 1000) + 1,
                    NULL);
  }
}


size_t kumo_http_run (double timeout) {
  if (!G.ready)
    return 0;
  drive(NULL, kumo_clock_monotonic() + (timeout > 0 ? timeout : 0));
  return queued();
}


void kumo_http_wait (struct kumo_http_xfer *px) {
  struct xfer *x = (struct xfer *)px;
  while (!x->pub.done && x->easy != NULL)
    drive(x, kumo_clock_monotonic() + 3600);
}


void kumo_http_take (struct kumo_http_xfer *px) {
  struct xfer *x = (struct xfer *)px, *p;
  if (!x->queued)
    return;
  if (G.qhead == x)
    G.qhead = x->qnext;
  else {
    for (p = G.qhead; p != NULL && p->qnext != x; p = p->qnext)
      ;
    if (p != NULL)
      p->qnext = x->qnext;
    if (G.qtail == x)
      G.qtail = p;
  }
  if (G.qhead == NULL)
    G.qtail = NULL;
  x->queued = 0;
  x->qnext = NULL;
}


struct kumo_http_xfer *kumo_http_next_done (void) {
  struct xfer *x = G.qhead;
  if (x == NULL)
    return NULL;
  kumo_http_take(&x->pub);
  return &x->pub;
}


void kumo_http_free (struct kumo_http_xfer *px) {
  struct xfer *x = (struct xfer *)px;
  if (x == NULL)
    return;
  kumo_http_take(px);
  release_easy(x);
  unlink_xfer(x);
  free(x->pub.body);
  free(x->pub.headers);
  free(x);
}


size_t kumo_http_pending (void) {
  return G.count;
}


struct kumo_http_xfer *kumo_http_find (long long id) {
  struct xfer *x;
  for (x = G.all; x != NULL; x = x->next)
    if (x->pub.id == id)
      return &x->pub;
  return NULL;
}


int kumo_http_configure (long max_total, long max_host) {
  if (setup() != 0)
    return -1;
  if (curl_multi_setopt(G.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                        max_total) != CURLM_OK
      || curl_multi_setopt(G.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                           max_host) != CURLM_OK)
    return -1;
  return 0;
}


void kumo_http_get_stats (struct kumo_http_stats *st) {
  *st = G.stats;
}


void kumo_http_shutdown (void) {
  while (G.all != NULL)
    kumo_http_free(&G.all->pub);
  if (G.ready) {
    curl_share_cleanup(G.share);
    curl_multi_cleanup(G.multi);
    G.share = NULL;
    G.multi = NULL;
    G.ready = 0;
    curl_global_cleanup();
  }
}
