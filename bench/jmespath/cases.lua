-- Waiter-style cases for the JMESPath benchmark (data shaped like AWS outputs).
local targets = {}
for i = 1, 5 do
  targets[i] = { Type = i == 5 and "TRACKED_CLUSTER" or "RDS_INSTANCE", RdsResourceId = "db" .. i,
    TargetHealth = { State = "AVAILABLE" } }
end
local proxies = {}
for i = 1, 20 do proxies[i] = { DBProxyName = "p" .. i, Status = i % 3 == 0 and "creating" or "available" } end
return {
  { name = "waiter: Targets filter", given = { Targets = targets },
    expression = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.State" },
  { name = "waiter: flatten projection", given = { DBProxies = proxies },
    expression = "DBProxies[].Status" },
  { name = "waiter: length == literal", given = { DBProxies = proxies },
    expression = "length(DBProxies) == `0`" },
  { name = "query: filter + field", given = { DBProxies = proxies },
    expression = "DBProxies[?Status=='available'].DBProxyName" },
}
