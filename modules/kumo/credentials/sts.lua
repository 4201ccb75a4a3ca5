--- kumo.credentials.sts: how the credential providers reach STS.
--
-- Every STS call (AssumeRole, GetSessionToken, the unsigned
-- AssumeRoleWithWebIdentity) goes through a kumo client, so the endpoint
-- rules (the regional endpoint, `AWS_ENDPOINT_URL_STS`, the profile's
-- `[services]` section, `AWS_ENDPOINT_URL`, `endpoint_url`), retries and
-- the model's `authtype: none` apply as for any other service.
--
-- The clients come from the factory the session hands to
-- `kumo.credentials.resolve` (`ctx.sts_client`): the credentials modules
-- never load kumo.session or kumo.aws themselves, so there is no
-- session → credentials → session cycle.
-- @module kumo.credentials.sts
local M = {}

--- A kumo STS client that signs with `provider` (nil: for unsigned
-- operations only), with the session's profile, region, endpoint and retry
-- settings.
-- @param ctx the credentials context (`ctx.sts_client`, `ctx.region`)
-- @param[opt] provider a credentials provider
-- @return client
function M.client(ctx, provider)
  local factory = ctx.sts_client
  if type(factory) ~= "function" then
    error("no STS client factory in the credentials context: pass one to "
      .. "kumo.credentials.resolve(session, sts_client) (a kumo session does)", 0)
  end
  return factory(provider, ctx.region)
end

return M
