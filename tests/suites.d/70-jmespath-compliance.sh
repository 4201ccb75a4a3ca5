# JMESPath compliance suite (tests/jmespath, upstream jmespath.test) through kumo.jmespath.
exec bin/kumo run tests/jmespath/run.lua
