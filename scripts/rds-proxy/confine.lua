--- Steps written as tables in the config run confined. Their functions
-- were compiled by the config's loader, so their globals are the
-- config's (no `io`, `os`, `require`, `load`, `debug`, `package`,
-- metatables: config.lua); and every function but `id` is handed a *view*
-- of the context instead of the context itself: the documented fields and
-- methods only (the pair, facts, ids, read/mutate/wait, the journal's
-- per-step calls), without the sessions, clients or the journal's file
-- operations. So a table step reaches AWS only through `ctx` and nothing
-- on this machine. A step *module* is not confined: it is code the user
-- installed next to the config, with kumo's rights (docs/workflow.md).
-- @module rds-proxy.confine
local M = {}

local CTX_METHODS = { "read", "read_all", "mutate", "wait", "sleep", "token", "adopt", "tag_list", "note",
                      "check" }
local STATE_METHODS = { "get", "intend", "created", "owns", "intended", "token" }

local views = setmetatable({}, { __mode = "k" })

--- The view of `ctx` a confined step gets (one per context).
function M.view(ctx)
  local v = views[ctx]
  if v then return v end
  local st = ctx.state
  local state = {}
  for _, m in ipairs(STATE_METHODS) do
    state[m] = function(_, ...) return st[m](st, ...) end
  end
  v = { pair = ctx.pair, facts = ctx.facts, ids = ctx.ids, action = ctx.action, timeouts = ctx.timeouts,
        allowed_rules = ctx.allowed_rules, state = state,
        progress = function(...) return ctx.progress(...) end }
  for _, m in ipairs(CTX_METHODS) do
    v[m] = function(_, ...) return ctx[m](ctx, ...) end
  end
  views[ctx] = v
  views[v] = v  -- a confined function calling a sibling passes the view on
  return v
end

--- A copy of `step` whose functions (all but `id`, which gets a resource)
-- receive the view of the context.
function M.step(step)
  local out = {}
  for k, f in pairs(step) do
    if type(f) == "function" and k ~= "id" then
      out[k] = function(ctx, ...) return f(M.view(ctx), ...) end
    else
      out[k] = f
    end
  end
  return out
end

return M
