/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo crypto: hashes, HMAC, random bytes, UUIDs, hex and base64 over
** OpenSSL; CRC-32 and gzip over zlib. Pure C, no Lua. Functions that can fail return 0 on success
** and -1 on failure; output buffers are the caller's.
*/
#ifndef KUMO_CRYPTO_H
#define KUMO_CRYPTO_H

#include <stddef.h>

#define KUMO_SHA256_LEN 32
#define KUMO_SHA1_LEN 20
#define KUMO_MD5_LEN 16
#define KUMO_UUID_LEN 36  /* without the terminating '\0' */

int kumo_sha256 (const void *data, size_t len,
                 unsigned char out[KUMO_SHA256_LEN]);
int kumo_sha1 (const void *data, size_t len, unsigned char out[KUMO_SHA1_LEN]);
int kumo_md5 (const void *data, size_t len, unsigned char out[KUMO_MD5_LEN]);
int kumo_hmac_sha256 (const void *key, size_t keylen,
                      const void *data, size_t len,
                      unsigned char out[KUMO_SHA256_LEN]);

/* 'n' bytes from the OpenSSL CSPRNG. */
int kumo_random (void *buf, size_t n);

/* A random (version 4) UUID, lower-case, in 'out' (37 bytes with '\0'). */
int kumo_uuid4 (char out[KUMO_UUID_LEN + 1]);

/* Lower-case hex of 'len' bytes into 'out' (2*len bytes, no '\0'). */
void kumo_hex (const void *data, size_t len, char *out);

/* Standard (RFC 4648, padded) base64. Encoded size of 'len' bytes. */
size_t kumo_base64_len (size_t len);
/* Writes kumo_base64_len(len) bytes (no '\0') into 'out'. */
void kumo_base64_encode (const void *data, size_t len, char *out);
/*
** Decodes 'len' characters into 'out' (room for 3*len/4 bytes) and sets
** '*outlen'. Strict: only the standard alphabet, length a multiple of 4,
** '=' only as final padding. Returns -1 on malformed input ('*outlen'
** untouched).
*/
int kumo_base64_decode (const char *in, size_t len, unsigned char *out,
                        size_t *outlen);

/* CRC-32 (IEEE, as gzip and AWS event streams use) of 'len' bytes. */
unsigned long kumo_crc32 (const void *data, size_t len);

/*
** CRC-32C (Castagnoli, as S3's flexible checksums use): the running value
** 'crc' (0 to start) extended by 'len' bytes. Table-driven, no library has it.
*/
unsigned long kumo_crc32c (unsigned long crc, const void *data, size_t len);

/* The running CRC-32 (IEEE) 'crc' (0 to start) extended by 'len' bytes. */
unsigned long kumo_crc32_update (unsigned long crc, const void *data,
                                 size_t len);

/* What kumo_file_sums computes (bits of 'which'). */
#define KUMO_SUM_SHA256 1
#define KUMO_SUM_SHA1   2
#define KUMO_SUM_MD5    4
#define KUMO_SUM_CRC32  8
#define KUMO_SUM_CRC32C 16

struct kumo_sums {
  unsigned char sha256[KUMO_SHA256_LEN], sha1[KUMO_SHA1_LEN], md5[KUMO_MD5_LEN];
  unsigned long crc32, crc32c;
  long long size;             /* bytes read */
};

/*
** Digests of 'length' bytes of the file 'path' from 'offset' ('length' < 0:
** to the end), read in 64 KiB pieces (a file of any size in constant
** memory). Returns 0, or -1 with errno set (ERANGE: the file ends before
** offset + length).
*/
int kumo_file_sums (const char *path, long long offset, long long length,
                    int which, struct kumo_sums *out);

/* Room kumo_gzip may need for 'len' input bytes (zlib's bound + gzip framing). */
size_t kumo_gzip_bound (size_t len);
/*
** gzip (RFC 1952) of 'len' bytes with zlib at 'level' (1..9, or -1 for
** zlib's default) into 'out', which has room for kumo_gzip_bound(len)
** bytes; sets '*outlen'. Returns -1 when zlib fails (out of memory) or the
** input is too long for zlib's 32-bit counters.
*/
int kumo_gzip (const void *data, size_t len, int level,
               unsigned char *out, size_t *outlen);

/*
** Inflate 'len' bytes of zlib (RFC 1950) or gzip (RFC 1952) data, told
** apart by their header, into a malloc'd '*out' of '*outlen' bytes (the
** caller frees it). Returns 0; -1 on corrupt or truncated input, -2 when
** the output would pass 'max' bytes, -3 when out of memory ('*out' NULL).
*/
int kumo_inflate (const void *data, size_t len, size_t max,
                  unsigned char **out, size_t *outlen);

/* Overwrite secret material (not optimised away). */
void kumo_cleanse (void *p, size_t len);

#endif
