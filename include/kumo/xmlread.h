/* SPDX-License-Identifier: Apache-2.0 */
/*
** kumo.xml.read, the binding that reads XML responses: an output table
** built straight from xml.c's events by a compiled output shape (see
** src/l_xmlread.c for its format).
*/
#ifndef KUMO_XMLREAD_H
#define KUMO_XMLREAD_H

#include <lua.h>

/*
** read(body, compiled, wrapper|nil, {array_mt, float_value, parse_time,
** b64decode}) -> output, request id|nil, root element's local name; or
** nil, "xml: ..." message. 'wrapper' names the root's child holding the
** output (query's XResult). Raises what a union's check raises.
*/
int kumo_xml_read (lua_State *L);

#endif
