# The command line (busted, run by kumo itself).
exec bin/kumo run /usr/bin/busted -o TAP tests/cli
