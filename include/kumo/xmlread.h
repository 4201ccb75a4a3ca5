/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo xml reader: a response's output table built straight from the XML
** events by a compiled output shape (see src/xmlread.c for its format).
*/
#ifndef KUMO_XMLREAD_H
#define KUMO_XMLREAD_H

#include <lua.h>

/*
** read(body, compiled, wrapper|nil, {array_mt, float_value, parse_time,
** b64decode}) -> output, request id|nil; or nil, "xml: ..." message.
** 'wrapper' names the root's child holding the output (query's XResult).
*/
int kumo_xml_read (lua_State *L);

#endif
