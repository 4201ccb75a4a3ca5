# The workflow's pure Lua parts (config validation, planning).
exec bin/kumo run /usr/bin/busted -o TAP tests/scripts
