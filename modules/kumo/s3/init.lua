--- kumo.s3: S3 helpers beyond the client's operations.
--
--     local s3mod = require "kumo.s3"
--     local url = s3mod.presign{ client = s3, operation = "GetObject",
--       params = { Bucket = "b", Key = "k" }, expires = 600 }
--     s3mod.upload_file(s3, "/tmp/big", "b", "k")       -- kumo.s3.transfer
--     s3mod.download_file(s3, "b", "k", "/tmp/copy")
--
-- The S3 calls themselves go through `session:client("s3")`; what makes
-- them S3 calls is kumo.s3.customize. See docs/s3.md.
-- @module kumo.s3
local presign = require "kumo.s3.presign"
local transfer = require "kumo.s3.transfer"

local M = {}

--- A presigned URL (kumo.s3.presign.url with named arguments).
-- @tparam table args `client`, `operation` (default `GetObject`), `params`, `expires`, `time`
-- @treturn string url
-- @treturn table the headers (besides Host) the request must carry as signed
function M.presign(args)
  if type(args) ~= "table" or type(args.client) ~= "table" then
    error("kumo.s3.presign{ client = s3, operation = \"GetObject\", params = { Bucket =, Key = }, "
      .. "expires = 3600 }: client is required", 2)
  end
  return presign.url(args.client, args.operation or "GetObject", args.params,
    { expires = args.expires, time = args.time })
end

M.upload_file = transfer.upload_file
M.download_file = transfer.download_file

return M
