# kumo.model (lazy loading, errors with close matches, protocol choice,
# partitions, endpoint rule sets) and tools/gen-models.py (regenerates the
# committed models).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/model_spec.lua
