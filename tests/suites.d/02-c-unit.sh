# C unit tests of crypto.c, clock.c, xml.c, xmlscan.c and http.c (tests/src/), each linked with
# the src/ files it tests. EXTRA_CFLAGS / EXTRA_LDFLAGS (sanitizers, from
# 'make asan') are added; KUMO_VALGRIND=1 runs each under valgrind.
set -u
CC=${CC:-cc}
OUT=${TEST_BUILD:-build/tests}
run=()
if [ "${KUMO_VALGRIND:-0}" = 1 ]; then
  run=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
fi
mkdir -p "$OUT"
flags="-std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags libcurl libcrypto expat zlib) ${EXTRA_CFLAGS:-}"
libs="$(pkg-config --libs libcurl libcrypto expat zlib) -lm ${EXTRA_LDFLAGS:-}"
pass=0
fail=0
# H1's units; other suites run their own tests/src files (sigv4: 22-).
for t in tests/src/{crypto,clock,xml,xmlscan,http}_test.c; do
  name=$(basename "$t" .c)
  unit=${name%_test}
  deps="src/$unit.c"
  [ "$unit" = http ] && deps="$deps src/clock.c"
  [ "$unit" = xml ] && deps="$deps src/xmlscan.c"
  # shellcheck disable=SC2086
  if ! $CC $flags -o "$OUT/$name" "$t" $deps $libs; then
    echo "$name: build failed"
    fail=$((fail + 1))
    continue
  fi
  # shellcheck disable=SC2086
  "${run[@]}" "$OUT/$name" >"$OUT/$name.out"
  rc=$?
  line=$(tail -n 1 "$OUT/$name.out")
  echo "$line (exit $rc)"
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/p' <<<"$line")
  n=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/p' <<<"$line")
  pass=$((pass + ${p:-0}))
  fail=$((fail + ${n:-1}))
  if [ "$rc" -ne 0 ] && [ "${n:-0}" -eq 0 ]; then fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
