"""Configured endpoint URLs as botocore (the default python3's) resolves them:
a grid of AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, a profile's services
section, its endpoint_url, the ignore switches (environment and profile) and
a client endpoint_url. Prints JSON lines {service, env, config, client_url,
url | error} for tests/endpoints/compare_configured.lua.
"""
import itertools
import json
import os
import tempfile

import botocore.session

SERVICES = {"secretsmanager": "SECRETS_MANAGER", "logs": "CLOUDWATCH_LOGS"}
SNAKE = {"secretsmanager": "secrets_manager", "logs": "cloudwatch_logs"}


def main():
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    tmp = tempfile.mkdtemp()
    cfg_path = os.path.join(tmp, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(tmp, "none")
    grid = list(itertools.product(SERVICES, (0, 1), (0, 1), (0, 1, 2), (0, 1), (None, "true"),
                                  (None, "true"), (0,)))
    # a client endpoint_url over everything; "false" switches; a missing section
    grid += [(svc, 1, 1, 1, 1, None, None, 1) for svc in SERVICES]
    grid += [(svc, 0, 1, 1, 1, "false", None, 0) for svc in SERVICES]
    grid += [(svc, 0, 0, 3, 0, None, None, 0) for svc in SERVICES]
    for svc, svc_env, glob_env, section, prof_url, ign_env, ign_prof, client in grid:
        env = {}
        if svc_env:
            env["AWS_ENDPOINT_URL_" + SERVICES[svc]] = "http://127.0.0.1:1001"
        if glob_env:
            env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1002"
        if ign_env:
            env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = ign_env
        lines = ["[profile p]", "region = us-east-1"]
        if prof_url:
            lines.append("endpoint_url = http://127.0.0.1:1004")
        if ign_prof:
            lines.append("ignore_configured_endpoint_urls = " + ign_prof)
        if section == 3:
            lines.append("services = missing")
        elif section:
            lines.append("services = s")
            lines += ["[services s]", (SNAKE[svc] if section == 1 else "sts") + " =",
                      "  endpoint_url = http://127.0.0.1:1003"]
        config = "\n".join(lines) + "\n"
        with open(cfg_path, "w") as f:
            f.write(config)
        for k in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k.startswith("AWS_IGNORE")]:
            del os.environ[k]
        os.environ.update(env)
        os.environ["AWS_CONFIG_FILE"] = cfg_path
        client_url = "http://127.0.0.1:1000" if client else None
        case = {"service": svc, "env": env, "config": config, "client_url": client_url}
        try:
            session = botocore.session.Session(profile="p")
            c = session.create_client(svc, endpoint_url=client_url, aws_access_key_id="AKIDEXAMPLE",
                                      aws_secret_access_key="x")
            case["url"] = c.meta.endpoint_url
        except Exception as e:
            case["error"] = type(e).__name__
        print(json.dumps(case))


if __name__ == "__main__":
    main()
