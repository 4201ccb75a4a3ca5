"""Target health of a registered proxy target, as RDS would find it.

Once a target has left REGISTERING, the proxy "connects": it reads each
secret of its Auth list with its IAM role, and reaches the DB through the
security groups. What would fail in AWS makes the target UNAVAILABLE with the
Reason AWS gives (AUTH_FAILURE, UNREACHABLE); fixing the cause heals it on the
next describe, as in AWS.
"""
import ipaddress
import json

from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends

from .auth import identity_allows

AVAILABLE = {"State": "AVAILABLE"}


def _unavailable(reason, description):
    return {"State": "UNAVAILABLE", "Reason": reason, "Description": description}


def _role(role_arn):
    try:
        account = role_arn.split(":")[4]
        name = role_arn.split("/")[-1]
        return iam_backends[account]["aws"].get_role(name)
    except Exception:
        return None


def _trusts_rds(role):
    try:
        doc = json.loads(role.assume_role_policy_document)
    except Exception:
        return False
    stmts = doc.get("Statement", [])
    for s in stmts if isinstance(stmts, list) else [stmts]:
        if s.get("Effect") != "Allow":
            continue
        svc = (s.get("Principal") or {}).get("Service", []) if isinstance(s.get("Principal"), dict) else []
        svc = [svc] if isinstance(svc, str) else svc
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "rds.amazonaws.com" in svc and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            return True
    return False


def _role_policies(role):
    docs = [p for p in role.policies.values()]
    docs += [p.default_version.document for p in role.managed_policies.values()]
    return docs


def _secret(account, region, arn):
    backend = secretsmanager_backends[account][region]
    try:
        return backend.get_secret_value(arn, None, None)
    except Exception:
        return None


def _cluster(backend, db):
    cid = getattr(db, "db_cluster_identifier", None)
    return backend.clusters.get(cid) if cid else None


def check_auth(backend, proxy, db):
    """None when the proxy can log in to `db`, else the UNAVAILABLE health."""
    role = _role(proxy.role_arn)
    if role is None:
        return _unavailable("AUTH_FAILURE", f"The IAM role {proxy.role_arn} doesn't exist.")
    if not _trusts_rds(role):
        return _unavailable("AUTH_FAILURE",
                            f"The IAM role {proxy.role_arn} doesn't trust rds.amazonaws.com.")
    policies = _role_policies(role)
    auths = proxy.auth or []
    if not auths:
        return _unavailable("AUTH_FAILURE", "Proxy does not have any registered credentials.")
    logins = []
    for a in auths:
        arn = a.get("SecretArn") or a.get("secret_arn")
        if not arn:
            continue
        if not identity_allows(policies, "secretsmanager:GetSecretValue", arn):
            return _unavailable("AUTH_FAILURE",
                                f"The IAM role {proxy.role_arn} isn't allowed secretsmanager:GetSecretValue "
                                f"on {arn}.")
        value = _secret(backend.account_id, backend.region_name, arn)
        if value is None:
            return _unavailable("AUTH_FAILURE", f"Proxy can't read the secret {arn}: it doesn't exist.")
        try:
            doc = json.loads(value.get("SecretString") or "{}")
        except ValueError:
            doc = {}
        if not doc.get("username") or "password" not in doc:
            return _unavailable("AUTH_FAILURE",
                                f"The secret {arn} has no 'username' and 'password' fields.")
        logins.append((doc["username"], doc["password"]))
    owner = _cluster(backend, db) or db  # an Aurora instance logs in with its cluster's master user
    master = (getattr(owner, "master_username", None), owner.__dict__.get("_master_user_password"))
    if master[0] and master not in logins:
        return _unavailable("AUTH_FAILURE",
                            f"No secret of the proxy holds valid credentials for DB instance "
                            f"{db.db_instance_identifier} (user {master[0]}).")
    return None


def _covers(rule, port):
    if rule.ip_protocol == "-1":
        return True
    return rule.ip_protocol == "tcp" and rule.from_port <= port <= rule.to_port


def _cidrs_overlap(cidr, subnets):
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(net.overlaps(ipaddress.ip_network(s.cidr_block)) for s in subnets)


def check_network(backend, proxy, db):
    """None when the proxy's ENIs may reach the DB port, else the health."""
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    proxy_sgs = set(proxy.vpc_security_group_ids or [])
    proxy_subnets = [s for s in ec2.describe_subnets() if s.id in set(proxy.vpc_subnet_ids)]
    port = int(db.port)
    admitted = False
    cluster = _cluster(backend, db)
    db_sg_ids = (cluster.vpc_security_group_ids if cluster else db.vpc_security_group_ids) or []
    for sg_id in db_sg_ids:
        sg = ec2.get_security_group_from_id(sg_id)
        for rule in (sg.ingress_rules if sg else []):
            if not _covers(rule, port):
                continue
            if rule.source_group and rule.source_group.get("GroupId") in proxy_sgs:
                admitted = True
            if rule.ip_range and _cidrs_overlap(rule.ip_range.get("CidrIp", ""), proxy_subnets):
                admitted = True
    if not admitted:
        return _unavailable("UNREACHABLE",
                            f"The DB instance's security groups don't admit the proxy's security groups "
                            f"({', '.join(sorted(proxy_sgs))}) on port {port}.")
    db_sgs = set(db_sg_ids)
    for sg_id in proxy_sgs:
        sg = ec2.get_security_group_from_id(sg_id)
        for rule in (sg.egress_rules if sg else []):
            if _covers(rule, port) and (rule.ip_range or rule.source_group.get("GroupId") in db_sgs):
                return None
    return _unavailable("UNREACHABLE",
                        f"The proxy's security groups allow no egress to the DB instance on port {port}.")


def target_health(backend, target):
    proxy = target.__dict__.get("_kumo_proxy")
    db = backend.databases.get(target.rds_resource_id) if target.type == "RDS_INSTANCE" else None
    if proxy is None or db is None:
        return _unavailable("UNREACHABLE", f"The target {target.rds_resource_id} no longer exists.") \
            if proxy is not None else AVAILABLE
    if db.status not in ("available", "modifying", "backing-up"):
        return _unavailable("UNREACHABLE", f"DB instance {db.db_instance_identifier} is {db.status}.")
    return check_auth(backend, proxy, db) or check_network(backend, proxy, db) or AVAILABLE
