# C unit tests of the pure C files (tests/src/*_test.c), each linked with
# the src/ files it tests. TEST_CC / TEST_CFLAGS / TEST_LDFLAGS / TEST_RUN
# let 'make asan' and 'make valgrind' reuse this suite.
set -u
CC=${TEST_CC:-cc}
OUT=${TEST_BUILD:-build/tests}
mkdir -p "$OUT"
flags="-std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags libcurl libcrypto expat) ${TEST_CFLAGS:-}"
libs="$(pkg-config --libs libcurl libcrypto expat) -lm ${TEST_LDFLAGS:-}"
pass=0
fail=0
for t in tests/src/*_test.c; do
  name=$(basename "$t" .c)
  unit=${name%_test}
  deps="src/$unit.c"
  [ "$unit" = http ] && deps="$deps src/clock.c"
  # shellcheck disable=SC2086
  if ! $CC $flags -o "$OUT/$name" "$t" $deps $libs; then
    echo "$name: build failed"
    fail=$((fail + 1))
    continue
  fi
  # shellcheck disable=SC2086
  ${TEST_RUN:-} "$OUT/$name" >"$OUT/$name.out"
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
