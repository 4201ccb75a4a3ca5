# C unit tests of the XML response reader: src/xmlshape.c (the compiled
# shape, pure C) alone, and src/l_xmlread.c (kumo_xml_read, its Lua binding
# over src/xml.c and src/xmlscan.c) in a bare Lua state.
# KUMO_VALGRIND=1 runs them under valgrind.
set -u
CC=${CC:-cc}
OUT=${TEST_BUILD:-build/tests}
mkdir -p "$OUT"
run=()
if [ "${KUMO_VALGRIND:-0}" = 1 ]; then
  run=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
fi
pass=0
fail=0
unit() { # name sources...
  local name=$1
  shift
  # shellcheck disable=SC2046,SC2086
  if ! $CC -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g -Wall -Wextra -Werror -Iinclude \
      $(pkg-config --cflags lua5.4 expat) ${EXTRA_CFLAGS:-} -o "$OUT/$name" \
      "tests/src/$name.c" "$@" \
      $(pkg-config --libs lua5.4 expat) -lm ${EXTRA_LDFLAGS:-}; then
    echo "$name: build failed"
    fail=$((fail + 1))
    return
  fi
  "${run[@]}" "$OUT/$name" > "$OUT/$name.out"
  local rc=$?
  cat "$OUT/$name.out"
  local line p n
  line=$(tail -n 1 "$OUT/$name.out")
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/p' <<<"$line")
  n=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/p' <<<"$line")
  [ "$rc" -ne 0 ] && [ "${n:-0}" -eq 0 ] && n=1
  pass=$((pass + ${p:-0}))
  fail=$((fail + ${n:-1}))
}
unit xmlshape_test src/xmlshape.c
unit xmlread_test src/l_xmlread.c src/xmlshape.c src/xml.c src/xmlscan.c
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
