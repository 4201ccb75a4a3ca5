/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/crypto.c: digests, HMAC, hex, base64, uuid, gzip. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "kumo/crypto.h"
#include "check.h"


static void hexof (const unsigned char *d, size_t n, char *out) {
  kumo_hex(d, n, out);
  out[2 * n] = '\0';
}


static void test_digests (void) {
  unsigned char d[KUMO_SHA256_LEN];
  char hex[2 * KUMO_SHA256_LEN + 1];
  CHECK(kumo_sha256("abc", 3, d) == 0);
  hexof(d, sizeof(d), hex);
  CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(kumo_sha256(NULL, 0, d) == 0);
  hexof(d, sizeof(d), hex);
  CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(kumo_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d) == 0);
  hexof(d, sizeof(d), hex);
  CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(kumo_hmac_sha256(NULL, 0, NULL, 0, d) == 0);
  hexof(d, sizeof(d), hex);
  CHECK_STR(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(kumo_sha1("abc", 3, d) == 0);
  hexof(d, KUMO_SHA1_LEN, hex);
  CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(kumo_md5("", 0, d) == 0);
  hexof(d, KUMO_MD5_LEN, hex);
  CHECK_STR(hex, "d41d8cd98f00b204e9800998ecf8427e");
}


static void b64 (const char *in, const char *want) {
  char out[64];
  unsigned char back[64];
  size_t n = strlen(in), m = 0;
  CHECK(kumo_base64_len(n) == strlen(want));
  kumo_base64_encode(in, n, out);
  out[kumo_base64_len(n)] = '\0';
  CHECK_STR(out, want);
  CHECK(kumo_base64_decode(want, strlen(want), back, &m) == 0);
  back[m] = '\0';
  CHECK_STR((char *)back, in);
}


static void test_base64 (void) {
  static const char *const bad[] = {
    "Zg=", "Z", "Zm9", "Zm9v!A==", "Z===", "====", "Zm=v", "Zh==", "Zm9=",
    "Zm9v Zm9v", "Zg==Zg==", NULL
  };
  unsigned char out[64];
  size_t n = 12345;
  int i;
  b64("", "");
  b64("f", "Zg==");
  b64("fo", "Zm8=");
  b64("foo", "Zm9v");
  b64("foob", "Zm9vYg==");
  b64("fooba", "Zm9vYmE=");
  b64("foobar", "Zm9vYmFy");
  for (i = 0; bad[i] != NULL; i++) {
    CHECK(kumo_base64_decode(bad[i], strlen(bad[i]), out, &n) == -1);
    CHECK(n == 12345);  /* untouched on failure */
  }
}


static void test_uuid_random (void) {
  char a[KUMO_UUID_LEN + 1], b[KUMO_UUID_LEN + 1];
  unsigned char r1[32], r2[32];
  CHECK(kumo_uuid4(a) == 0);
  CHECK(kumo_uuid4(b) == 0);
  CHECK(strlen(a) == 36);
  CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
  CHECK(a[14] == '4');
  CHECK(strchr("89ab", a[19]) != NULL);
  CHECK(strcmp(a, b) != 0);
  CHECK(kumo_random(r1, sizeof(r1)) == 0);
  CHECK(kumo_random(r2, sizeof(r2)) == 0);
  CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
  kumo_cleanse(r1, sizeof(r1));
  CHECK(r1[0] == 0 && r1[31] == 0);
}


/* gzip round trip through zlib's inflate (gzip framing: 15 + 16 bits). */
static void test_gzip_crc32 (void) {
  static char in[50000];
  unsigned char *gz, *back;
  size_t i, n = 0;
  z_stream zs;
  CHECK(kumo_crc32("123456789", 9) == 0xCBF43926UL);
  CHECK(kumo_crc32(NULL, 0) == 0);
  for (i = 0; i < sizeof(in); i++)
    in[i] = (char)("kumo gzip "[i % 10] + (i / 1000 % 3));
  gz = malloc(kumo_gzip_bound(sizeof(in)));
  back = malloc(sizeof(in) + 1);
  CHECK(gz != NULL && back != NULL);
  if (gz == NULL || back == NULL)
    return;
  CHECK(kumo_gzip(in, sizeof(in), -1, gz, &n) == 0);
  CHECK(n > 18 && n < sizeof(in) / 10);
  CHECK(gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8);
  memset(&zs, 0, sizeof(zs));
  CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
  zs.next_in = gz;
  zs.avail_in = (uInt)n;
  zs.next_out = back;
  zs.avail_out = sizeof(in) + 1;
  CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
  CHECK(zs.total_out == sizeof(in));
  CHECK(memcmp(in, back, sizeof(in)) == 0);
  inflateEnd(&zs);
  CHECK(kumo_gzip(NULL, 0, 9, gz, &n) == 0 && n == 20);  /* empty member */
  free(gz);
  free(back);
}


/* kumo_inflate reads gzip and zlib alike, grows its buffer, and refuses
** corrupt, truncated and oversized input. */
static void test_inflate (void) {
  static char in[300000];
  unsigned char *gz, *out = NULL;
  unsigned char zl[64];
  uLongf zn = sizeof(zl);
  size_t i, n = 0, olen = 0;
  for (i = 0; i < sizeof(in); i++)
    in[i] = (char)("inflate "[i % 8] + (i / 777 % 5));
  gz = malloc(kumo_gzip_bound(sizeof(in)));
  CHECK(gz != NULL);
  if (gz == NULL)
    return;
  CHECK(kumo_gzip(in, sizeof(in), 9, gz, &n) == 0);
  CHECK(kumo_inflate(gz, n, 1 << 20, &out, &olen) == 0);  /* grows past len*4 */
  CHECK(out != NULL && olen == sizeof(in) && memcmp(out, in, olen) == 0);
  free(out);
  CHECK(kumo_inflate(gz, n, 1000, &out, &olen) == -2 && out == NULL);
  CHECK(kumo_inflate(gz, n / 2, 1 << 20, &out, &olen) == -1 && out == NULL);
  gz[n / 2] ^= 0x55;
  CHECK(kumo_inflate(gz, n, 1 << 20, &out, &olen) < 0 && out == NULL);
  CHECK(kumo_inflate("not zlib", 8, 1 << 20, &out, &olen) == -1);
  CHECK(compress2(zl, &zn, (const Bytef *)"kumo", 4, 9) == Z_OK);  /* RFC 1950 */
  CHECK(kumo_inflate(zl, zn, 16, &out, &olen) == 0);
  CHECK(olen == 4 && memcmp(out, "kumo", 4) == 0);
  free(out);
  free(gz);
}

/* RFC 3720 (iSCSI) appendix B.4 vectors, the check value, and a running CRC
** split at every offset (the sliced loop and the byte loop must agree). */
static void test_crc32c (void) {
  unsigned char buf[48];
  const char *s = "123456789";
  size_t i;
  CHECK(kumo_crc32c(0, s, 9) == 0xE3069283UL);
  CHECK(kumo_crc32c(0, NULL, 0) == 0);
  memset(buf, 0, 32);
  CHECK(kumo_crc32c(0, buf, 32) == 0x8A9136AAUL);
  memset(buf, 0xff, 32);
  CHECK(kumo_crc32c(0, buf, 32) == 0x62A8AB43UL);
  for (i = 0; i < 32; i++)
    buf[i] = (unsigned char)i;
  CHECK(kumo_crc32c(0, buf, 32) == 0x46DD794EUL);
  for (i = 0; i < 32; i++)
    buf[i] = (unsigned char)(31 - i);
  CHECK(kumo_crc32c(0, buf, 32) == 0x113FDB5CUL);
  for (i = 0; i <= 9; i++)
    CHECK(kumo_crc32c(kumo_crc32c(0, s, i), s + i, 9 - i) == 0xE3069283UL);
  CHECK(kumo_crc32_update(kumo_crc32_update(0, s, 4), s + 4, 5) == 0xCBF43926UL);
}


/* A byte range of a file, hashed in pieces, equals the one-shot digests. */
static void test_file_sums (void) {
  static char data[200000];
  char path[] = "/tmp/kumo-crypto-test-XXXXXX";
  struct kumo_sums s;
  unsigned char d[KUMO_SHA256_LEN];
  size_t i;
  int fd = mkstemp(path);
  FILE *f;
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  for (i = 0; i < sizeof(data); i++)
    data[i] = (char)(i * 7 + i / 251);
  f = fdopen(fd, "wb");
  CHECK(f != NULL && fwrite(data, 1, sizeof(data), f) == sizeof(data));
  fclose(f);
  CHECK(kumo_file_sums(path, 0, -1, KUMO_SUM_SHA256 | KUMO_SUM_CRC32C
                       | KUMO_SUM_CRC32, &s) == 0);
  CHECK(s.size == (long long)sizeof(data));
  kumo_sha256(data, sizeof(data), d);
  CHECK(memcmp(d, s.sha256, sizeof(d)) == 0);
  CHECK(s.crc32c == kumo_crc32c(0, data, sizeof(data)));
  CHECK(s.crc32 == kumo_crc32(data, sizeof(data)));
  CHECK(kumo_file_sums(path, 70001, 100000, KUMO_SUM_SHA256, &s) == 0);
  kumo_sha256(data + 70001, 100000, d);
  CHECK(s.size == 100000 && memcmp(d, s.sha256, sizeof(d)) == 0);
  CHECK(kumo_file_sums(path, 199999, 2, KUMO_SUM_SHA256, &s) == -1
        && errno == ERANGE);
  remove(path);
  CHECK(kumo_file_sums(path, 0, -1, KUMO_SUM_SHA256, &s) == -1
        && errno == ENOENT);
}


int main (void) {
  test_digests();
  test_base64();
  test_uuid_random();
  test_gzip_crc32();
  test_inflate();
  test_crc32c();
  test_file_sums();
  return check_report("crypto_test");
}
