# kumo.sigv4: signatures per second from C and from Lua, beside botocore's
# SigV4Auth (default python3) on the same request (an RDS DescribeDBProxies
# POST, header form, fixed time), and the ratios. Each figure is the best of
# SIGV4_BENCH_RUNS runs of SIGV4_BENCH_SECONDS seconds (default 3 x 1 s).
set -u
runs=${SIGV4_BENCH_RUNS:-3}
secs=${SIGV4_BENCH_SECONDS:-1}
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The C benchmark links src/sigv4.c directly, built with the release flags.
if ! ${CC:-cc} -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Iinclude \
    $(pkg-config --cflags libcrypto) -o "$tmp/sigv4_bench" \
    bench/sigv4_bench.c src/sigv4.c src/clock.c $(pkg-config --libs libcrypto) -lm; then
  echo "sigv4: cannot build bench/sigv4_bench.c"; exit 1
fi

# best RATE and its SIGNATURE over $runs runs of "$@ $secs"
best() {
  local b=0 s="" out r
  for _ in $(seq "$runs"); do
    out=$("$@" "$secs") || return 1
    r=${out%% *}
    if [ "$r" -gt "$b" ]; then b=$r; s=${out#* }; fi
  done
  echo "$b $s"
}

c=$(best "$tmp/sigv4_bench") || { echo "sigv4: C bench failed"; exit 1; }
lua=$(best "$kumo" run bench/sigv4_bench.lua) || { echo "sigv4: Lua bench failed"; exit 1; }
py=$(best python3 bench/sigv4_botocore.py) || { echo "sigv4: botocore bench failed"; exit 1; }

c_rate=${c%% *}; c_sig=${c#* }
lua_rate=${lua%% *}; lua_sig=${lua#* }
py_rate=${py%% *}; py_sig=${py#* }
versions=$(python3 -c 'import sys, botocore; print("python %s, botocore %s" % (sys.version.split()[0], botocore.__version__))')

echo "SigV4 signatures per second, RDS DescribeDBProxies POST (header form), best of $runs x ${secs}s"
awk -v c="$c_rate" -v l="$lua_rate" -v p="$py_rate" -v v="$versions" 'BEGIN {
  printf "  %-28s %12d /s  %6.1fx botocore  (goal >= 40x: %s)\n", "kumo.sigv4 from C", c, c / p, (c / p >= 40 ? "met" : "NOT met")
  printf "  %-28s %12d /s  %6.1fx botocore  (goal >= 15x: %s)\n", "kumo.sigv4 from Lua", l, l / p, (l / p >= 15 ? "met" : "NOT met")
  printf "  %-28s %12d /s  (%s)\n", "botocore SigV4Auth.add_auth", p, v
}'
if [ "$c_sig" = "$py_sig" ] && [ "$lua_sig" = "$py_sig" ]; then
  echo "  all three produce the same signature ($py_sig)"
else
  echo "  SIGNATURES DIFFER: C $c_sig, Lua $lua_sig, botocore $py_sig"
  exit 1
fi
