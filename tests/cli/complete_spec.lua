-- Completion: `kumo __complete` (commands, services, operations in the AWS
-- CLI's kebab-case as botocore's xform_name makes them, parameters, option
-- values) and the bash and zsh functions of completion/ driving it.
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")
local json = require "kumo.json"
local model = require "kumo.model"
local complete = require "kumo.cli.complete"

local root = os.getenv("KUMO_ROOT") or "."
local q = sandbox.shell_quote

local function lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local function kumo_complete(...)
  local args = {}
  for i, a in ipairs{ ... } do args[i] = q(a) end
  return lines(q(root .. "/bin/kumo") .. " __complete " .. table.concat(args, " "))
end

describe("kumo __complete", function()
  it("completes commands, services, operations, parameters and option values", function()
    assert.same({ "call" }, kumo_complete("ca"))
    assert.same({ "rds", "rds-data" }, kumo_complete("call", "rds"))
    assert.same({ "describe-db-proxies", "describe-db-proxy-endpoints", "describe-db-proxy-target-groups",
      "describe-db-proxy-targets" }, kumo_complete("call", "rds", "describe-db-prox"))
    assert.same({ "db-proxy-name=" }, kumo_complete("call", "rds", "describe-db-proxies", "db-"))
    -- model spelling and options before the service work too
    assert.same({ "db-proxy-name=" }, kumo_complete("--debug", "call", "--profile", "rds", "rds",
      "DescribeDBProxies", "db-proxy-n"))
    assert.same({ "table", "text" }, kumo_complete("call", "sts", "get-caller-identity", "--output", "t"))
    assert.same({ "--all" }, kumo_complete("call", "iam", "list-roles", "--al"))
    assert.same({}, kumo_complete("call", "nosuchservice", ""))
  end)

  it("spells every operation of every shipped service as botocore's xform_name", function()
    local all = {}
    for _, s in ipairs(model.services()) do
      for _, op in ipairs(model.operation_names(model.service(s))) do all[#all + 1] = op end
    end
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w")); f:write(json.encode(all)); f:close()
    local want = json.decode(table.concat(lines("python3 -c " .. q(
      "import json,sys; from botocore import xform_name; "
      .. "print(json.dumps([xform_name(n, '-') for n in json.load(open(sys.argv[1]))]))") .. " " .. q(tmp)), ""))
    os.remove(tmp)
    assert.is_true(#all > 500)
    for i, op in ipairs(all) do assert.equal(want[i], complete.kebab(op), op) end
  end)

  it("bash: the function completes through kumo __complete (no space after name=)", function()
    local out = lines("bash -c " .. q(". " .. q(root .. "/completion/kumo.bash") .. [=[

      PATH=]=] .. q(root .. "/bin") .. [=[:$PATH
      compopt() { echo "compopt $1 $2"; }
      t() { COMP_LINE="$1"; COMP_POINT=${#1}; read -r -a COMP_WORDS <<< "$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _kumo; echo "${COMPREPLY[*]}"; }
      t "kumo call redshift-s"; t "kumo call sts get-caller-identity --output j"
      t "kumo call rds describe-db-proxies db-proxy-"]=]))
    assert.same({ "redshift-serverless", "json", "compopt -o nospace", "db-proxy-name=" }, out)
  end)

  it("zsh: the function offers names, and parameters with no suffix", function()
    if os.execute("command -v zsh >/dev/null 2>&1") ~= true then
      error("zsh is not installed (Debian: apt-get install zsh; tools/deps.sh installs it)")
    end
    local out = lines("zsh -f -c " .. q([[
      compadd() { print -r -- "compadd $*"; }
      _files() { print -r -- _files; }
      PATH=]] .. q(root .. "/bin") .. [[:$PATH
      source ]] .. q(root .. "/completion/_kumo") .. [[ >/dev/null 2>&1
      words=(kumo call rds describe-db-proxies db-proxy-); CURRENT=5; _kumo
      words=(kumo call rds); CURRENT=3; _kumo
      words=(kumo run ''); CURRENT=3; _kumo]]))
    assert.same({ "compadd -S  -- db-proxy-name=", "compadd -- rds rds-data", "_files" }, out)
  end)
end)
