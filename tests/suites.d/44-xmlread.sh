# kumo.xml.read (the shape-directed XML reader) against the generic
# decode + walk: protocol conformance outputs, bench responses, edge cases.
exec "${KUMO:-bin/kumo}" run /usr/bin/busted -o TAP tests/xmlread/xmlread_spec.lua
