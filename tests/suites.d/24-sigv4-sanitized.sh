# The C unit tests of src/sigv4.c again, under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run).
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# shellcheck disable=SC2086
${CC:-cc} -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $san \
  -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags libcrypto) \
  -o "$out/sigv4_test" tests/src/sigv4_test.c src/sigv4.c src/clock.c \
  $(pkg-config --libs libcrypto) -lm $san
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  exec "$out/sigv4_test"
