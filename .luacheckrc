-- luacheck configuration (Debian's lua-check): `make lint`, and suite 06.
-- kumo's Lua uses no globals; specs may use busted's.
std = "lua54"
max_line_length = false   -- long lines are data tables and messages
unused_args = false       -- interface arguments keep their documented names
files["tests"] = { std = "+busted" }
files["tests/jmespath"] = { std = "+busted" }
exclude_files = { "tests/protocol/data", "build*" }
