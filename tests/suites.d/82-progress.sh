# kumo.progress: tty (escapes, and through a pty), lines, json, quiet.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/progress_spec.lua
