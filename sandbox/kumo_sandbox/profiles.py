"""Files written for users of a running sandbox, in DIR:

  config, credentials  an AWS config/credentials pair: profiles base (the
                       deployer's keys), app and rds (role_arn + source_profile
                       + external_id), all with endpoint_url; the AWS CLI,
                       boto3 and kumo use them unchanged
  env.sh               the export lines (AWS_CONFIG_FILE, ..., AWS_ENDPOINT_URL)
  workflow.lua         a workflow config for the seeded world (issue 7's format),
                       one pair for PostgreSQL and one for MySQL
  world.json           every seeded id, account id, the port and the pid
Secrets (the deployer's secret key) go only to `credentials`, mode 0600.
"""
import json
import os


def _write(path, text, mode=0o644):
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def config_text(world, endpoint):
    region = world["region"]
    lines = ["# kumo sandbox: AWS config for the local cloud at " + endpoint,
             "# (profiles: base = the deployer in the base account; app, rds = its roles)", ""]
    lines += ["[profile base]", f"region = {region}", f"endpoint_url = {endpoint}", ""]
    for name in ("app", "rds"):
        role = world["roles"][name]
        lines += [f"[profile {name}]", f"role_arn = {role['arn']}", "source_profile = base",
                  f"external_id = {role['external_id']}",
                  f"role_session_name = {role.get('session_name') or 'kumo-' + name}",
                  f"region = {region}", f"endpoint_url = {endpoint}", ""]
    return "\n".join(lines)


def credentials_text(world, secret):
    return "\n".join(["# kumo sandbox: the deployer's keys (local cloud only)", "[base]",
                      f"aws_access_key_id = {world['deployer']['access_key_id']}",
                      f"aws_secret_access_key = {secret}", ""])


def env_lines(world, endpoint, directory):
    return [
        f"export AWS_CONFIG_FILE={directory}/config",
        f"export AWS_SHARED_CREDENTIALS_FILE={directory}/credentials",
        f"export AWS_REGION={world['region']}",
        f"export AWS_DEFAULT_REGION={world['region']}",
        f"export AWS_ENDPOINT_URL={endpoint}",
        # every client reads AWS_ENDPOINT_URL, but STS and IAM are also named
        # alone: Terraform's provider and older SDKs resolve them as global
        # services (us-east-1) and look for their own variables first
        f"export AWS_ENDPOINT_URL_STS={endpoint}",
        f"export AWS_ENDPOINT_URL_IAM={endpoint}",
        "export AWS_STS_REGIONAL_ENDPOINTS=regional",
        # no probe of an instance metadata service that is not there (boto3,
        # the AWS CLI and Terraform would wait for it when keys are missing)
        "export AWS_EC2_METADATA_DISABLED=true",
        # the AWS CLI v2 pages through less; v1 and scripts get plain output
        "export AWS_PAGER=",
        f"export KUMO_SANDBOX_ENDPOINT={endpoint}",
        f"export KUMO_SANDBOX_DIR={directory}",
        "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
    ]


def _lua(value, indent=""):
    if isinstance(value, dict):
        inner = indent + "  "
        items = [f"{inner}{k} = {_lua(v, inner)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, dict) for v in value):
            inner = indent + "  "
            return "{\n" + "\n".join(f"{inner}{_lua(v, inner)}," for v in value) + f"\n{indent}}}"
        return "{ " + ", ".join(_lua(v, indent) for v in value) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def workflow_pairs(world):
    app = world["app"]
    pairs = []
    for key, short in (("postgres", "pg"), ("mysql", "mysql")):
        db = world["rds"]["databases"][key]
        pairs.append({
            "name": f"orders-{short}",
            "app": {"profile": "app", "vpc_id": app["vpc_id"],
                    "subnet_ids": [s["id"] for s in app["subnets"][:2]],
                    "client_security_group_ids": [app["security_group_id"]]},
            "rds": {"profile": "rds", "db_instance_identifier": db["id"],
                    "engine_family": db["engine_family"], "secret_arn": db["secret_arn"],
                    "proxy_name": f"orders-{short}-proxy", "require_tls": True,
                    "idle_client_timeout": 1800},
            "endpoint": {"name": f"orders-{short}-app", "target_role": "READ_WRITE"},
        })
    return pairs


def workflow_text(world):
    text = _lua({"region": world["region"], "tags": {"Project": "kumo-sandbox"},
                 "pairs": workflow_pairs(world)})
    return ("-- kumo sandbox: a workflow config for the seeded world (scripts/rds-proxy-share.lua)\n"
            "-- Use it with the sandbox's env.sh sourced (profiles app and rds).\n"
            "return " + text + "\n")


def write_all(directory, world, secret, endpoint):
    os.makedirs(directory, exist_ok=True)
    files = {name: os.path.join(directory, name)
             for name in ("config", "credentials", "env.sh", "workflow.lua", "world.json")}
    world = dict(world, files=files)
    _write(files["config"], config_text(world, endpoint))
    _write(files["credentials"], credentials_text(world, secret), 0o600)
    _write(files["env.sh"], "# kumo sandbox: source this file to use the local cloud\n" +
           "\n".join(env_lines(world, endpoint, directory)) + "\n")
    _write(files["workflow.lua"], workflow_text(world))
    _write(files["world.json"], json.dumps(world, indent=2) + "\n")
    return files
