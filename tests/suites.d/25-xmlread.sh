# C unit tests of src/l_xmlread.c (kumo_xml_read, the one XML response
# reader, in a bare Lua state over src/xml.c and src/xmlscan.c);
# KUMO_VALGRIND=1 runs them under valgrind.
set -u
CC=${CC:-cc}
OUT=${TEST_BUILD:-build/tests}
mkdir -p "$OUT"
run=()
if [ "${KUMO_VALGRIND:-0}" = 1 ]; then
  run=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
fi
# shellcheck disable=SC2046,SC2086
if ! $CC -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g -Wall -Wextra -Werror -Iinclude \
    $(pkg-config --cflags lua5.4 expat) ${EXTRA_CFLAGS:-} -o "$OUT/xmlread_test" \
    tests/src/xmlread_test.c src/l_xmlread.c src/xml.c src/xmlscan.c \
    $(pkg-config --libs lua5.4 expat) -lm ${EXTRA_LDFLAGS:-}; then
  echo "0 passed, 1 failed"; exit 1
fi
"${run[@]}" "$OUT/xmlread_test" > "$OUT/xmlread_test.out"
rc=$?
cat "$OUT/xmlread_test.out"
line=$(tail -n 1 "$OUT/xmlread_test.out")
p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/p' <<<"$line")
n=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/p' <<<"$line")
[ "$rc" -ne 0 ] && [ "${n:-0}" -eq 0 ] && n=1
echo "${p:-0} passed, ${n:-1} failed"
[ "${n:-1}" -eq 0 ]
