-- The connection hint per engine and auth mode (the verify output).
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local connect = require "rds-proxy.connect"

local function ctx(fam, port, iam, tls)
  return { pair = { region = "ap-northeast-1", listener_port = port,
                    rds = { engine_family = fam, iam_auth = iam, require_tls = tls, profile = "rds" } } }
end

local TOKEN = [["$(kumo -e 'print(require("kumo.rds").generate_db_auth_token(require("kumo.aws").session{profile = "rds"}, ]]
  .. [[{ hostname = "h.example", port = %d, username = "app", region = "ap-northeast-1" }))')"]]

describe("connect hint", function()
  it("PostgreSQL with a password: the database's name, TLS required", function()
    assert.are.equal('psql "host=h.example port=5432 user=app dbname=orders sslmode=require"',
      connect.commands(ctx("POSTGRESQL", 5432, "DISABLED", true), "h.example", "app", "orders"))
    assert.are.equal('psql "host=h.example port=5432 user=app dbname=postgres sslmode=prefer"',
      connect.commands(ctx("POSTGRESQL", 5432, "DISABLED", false), "h.example", "app", nil))
  end)

  it("PostgreSQL with IAM: a kumo-made token and verify-full", function()
    assert.are.equal("PGPASSWORD=" .. TOKEN:format(5432) .. ' psql "host=h.example port=5432 user=app dbname=orders '
      .. 'sslmode=verify-full sslrootcert=global-bundle.pem"',
      connect.commands(ctx("POSTGRESQL", 5432, "REQUIRED", true), "h.example", "app", "orders"))
  end)

  it("MySQL with a password and with IAM", function()
    assert.are.equal("mysql -h h.example -P 3306 -u app -p --ssl-mode=REQUIRED orders",
      connect.commands(ctx("MYSQL", 3306, "DISABLED", true), "h.example", "app", "orders"))
    assert.are.equal("mysql -h h.example -P 3306 -u app --enable-cleartext-plugin --ssl-mode=VERIFY_IDENTITY "
      .. "--ssl-ca=global-bundle.pem --password=" .. TOKEN:format(3306),
      connect.commands(ctx("MYSQL", 3306, "REQUIRED", true), "h.example", "app", nil))
  end)

  it("SQL Server with IAM (ENABLED)", function()
    assert.are.equal("sqlcmd -S h.example,1433 -U app -N -P " .. TOKEN:format(1433) .. " -d sales",
      connect.commands(ctx("SQLSERVER", 1433, "ENABLED", true), "h.example", "app", "sales"))
  end)
end)
