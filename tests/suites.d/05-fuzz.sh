# A short libFuzzer run of every tests/fuzz/fuzz_*.c target (the XML
# decoder, the clock parser, the SigV4 canonicaliser): FUZZ_SECONDS each
# (default 10 here; 'make fuzz' runs 20).
FUZZ_SECONDS=${FUZZ_SECONDS:-10} exec tests/fuzz/run.sh
