# C unit tests of src/sigv4.c (stages, whole signatures, errors, key cache),
# built here with the project's warnings; under valgrind when KUMO_VALGRIND=1.
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
${CC:-cc} -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g \
  -Wall -Wextra -Werror -Wshadow -Wundef -Wwrite-strings \
  -Wmissing-prototypes -Wstrict-prototypes -Wold-style-definition \
  -Wdeclaration-after-statement -Iinclude $(pkg-config --cflags libcrypto) \
  ${EXTRA_CFLAGS:-} -o "$out/sigv4_test" tests/src/sigv4_test.c src/sigv4.c src/clock.c \
  $(pkg-config --libs libcrypto) -lm ${EXTRA_LDFLAGS:-}
if [ "${KUMO_VALGRIND:-0}" = 1 ]; then
  exec valgrind -q --leak-check=full --error-exitcode=1 "$out/sigv4_test"
fi
exec "$out/sigv4_test"
