# Static checks of all Lua (luacheck, from Debian's lua-check, configured by
# .luacheckrc): no global is read or written outside the standard library
# (busted's in specs), no unused or shadowing local, no empty branch. One
# case per file checked; prints "N passed, N failed".
set -u
if ! command -v luacheck >/dev/null; then
  echo "lint: luacheck not found (tools/deps.sh installs lua-check)"
  echo "0 passed, 1 failed"
  exit 1
fi
out=$(luacheck modules scripts tests bench --no-color --formatter plain 2>&1)
rc=$?
files=$(luacheck modules scripts tests bench --no-color -q 2>&1 | sed -nE 's/^Total: .* in ([0-9]+) files?$/\1/p')
bad=$(printf '%s\n' "$out" | grep -E '^[^:]+:[0-9]+:[0-9]+' | cut -d: -f1 | sort -u | wc -l)
[ -n "$out" ] && printf '%s\n' "$out"
if [ -z "$files" ]; then
  echo "lint: luacheck gave no total (exit $rc)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$((files - bad)) passed, $bad failed"
[ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]
