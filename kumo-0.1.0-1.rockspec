-- luarocks make (in a clean tree) builds kumo's native modules against the
-- system's libcurl, OpenSSL, expat and zlib (Debian: libcurl4-openssl-dev
-- libssl-dev libexpat1-dev zlib1g-dev) and installs the Lua library.
rockspec_format = "3.0"
package = "kumo"
version = "0.1.0-1"
source = {
  url = "git+https://example.invalid/kumo.git",
  tag = "v0.1.0",
}
description = {
  summary = "Signed AWS calls, credentials, waiters and a scheduler for Lua 5.4",
  detailed = [[
kumo gives Lua 5.4 native SigV4 signing, HTTP over libcurl, XML and crypto,
and a Lua AWS client driven by the official API models: every operation of
the shipped services, the credential provider chain, waiters, pagination.
The kumo binary (make) stays the recommended host; this rock is the library.
]],
  license = "Apache-2.0",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson",
}
-- libcurl, OpenSSL, expat and zlib are found by the Makefile through
-- pkg-config (Debian keeps curl.h in a multiarch folder luarocks' header
-- search does not look in). With Debian's lua-cjson (not a rock), build with
-- `luarocks make --deps-mode=none`.
build = {
  type = "make",
  build_target = "lib",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LDFLAGS = "$(LIBFLAG)",
  },
  install_target = "install-lib",
  install_variables = {
    PREFIX = "$(PREFIX)",
    INSTALL_LMOD = "$(LUADIR)",
    INSTALL_CMOD = "$(LIBDIR)",
  },
}
test = {
  type = "busted",
}
