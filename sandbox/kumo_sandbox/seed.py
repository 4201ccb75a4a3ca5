"""The seeded world (built in-process, before the server listens).

  base account 123456789012   user `deployer` (may assume the two roles, read the organization
                              and enable RAM sharing with it; nothing else)
  APP account  111111111111   VPC 10.0.0.0/16, subnets in 3 AZs, app security group,
                              role `kumo-deployer` (trusts deployer with an external ID)
  RDS account  222222222222   VPC 10.0.0.0/16 (overlapping on purpose), subnets in 2 AZs,
                              DB security group, DB subnet group, PostgreSQL and MySQL
                              DB instances with their secrets, role `kumo-deployer`
  APP and RDS are members of an organization managed by the base account,
  with RAM sharing enabled (unless --no-org / --no-org-sharing).

  With --accounts N (organization only): N more APP accounts 300000000001...,
  named app-01..., in the organizational unit `apps`, tagged team=orders,
  env=sandbox and wave=1|2|3; each with `OrganizationAccountAccessRole`
  (trusting the management account, as AWS Organizations creates it), a VPC
  tagged Name=app, a tier=private subnet in each of two AZs, a tier=public
  subnet, and a security group tagged role=app-clients. The databases and
  their secrets carry db=postgres|mysql, so a config can name them by tags.

  With --rds-accounts M as well: M more RDS accounts 400000000001..., named
  rds-01..., in the organizational unit `databases`, tagged kumo-role=rds;
  each with `OrganizationAccountAccessRole`, a VPC tagged Name=rds, two
  subnets, a DB security group, a DB subnet group, the PostgreSQL and MySQL
  instances (same identifiers as in the RDS account) and their secrets,
  tagged db=postgres|mysql. The APP accounts are spread over them in turn:
  app-01 is tagged rds=rds-01, app-02 rds=rds-02, ... (AWS keeps 20 RDS
  proxies per account and Region, so a 100-pair rollout needs 5 of them).

Identifiers are deterministic: moto's random generator is seeded first, so a
reset rebuilds the same world with the same ids; it is reseeded from the
system afterwards, so what users create gets fresh ids in every run.
"""
import json
import secrets

from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from . import org, rds_db

BASE, APP, RDS = "123456789012", "111111111111", "222222222222"
DEPLOYER = "deployer"
DEPLOYER_KEY_ID = "AKIAKUMOSANDBOX00001"  # 20 chars [A-Z0-9]: moto's key regex
ROLE = "kumo-deployer"
EXTERNAL_IDS = {"app": "kumo-sandbox-app", "rds": "kumo-sandbox-rds"}
RANDOM_SEED = 20261128
# the master passwords, drawn once per process: a reset rebuilds the world
# with the same ones, so the real databases (--databases) keep matching them
PASSWORDS = {}


def password(ident):
    """The master password of seeded instance `ident` (drawn on first use)."""
    return PASSWORDS.setdefault(ident, secrets.token_urlsafe(18))


ORG_ROLE = "OrganizationAccountAccessRole"
FLEET_BASE = 300000000000  # APP accounts of --accounts N: 300000000001, ...
RDS_FLEET_BASE = 400000000000  # RDS accounts of --rds-accounts M: 400000000001, ...

ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})

DATABASES = [
    # key, identifier, engine, engine family, port, master user, db name
    ("postgres", "orders-pg", "postgres", "POSTGRESQL", 5432, "orders_admin", "orders"),
    ("mysql", "orders-mysql", "mysql", "MYSQL", 3306, "orders_admin", "orders"),
]


def _tag(ec2, resource_id, name):
    ec2.create_tags([resource_id], {"Name": name, "kumo:sandbox": "seed"})


def _subnet_view(ec2, s):
    return {"id": s.id, "arn": f"arn:aws:ec2:{ec2.region_name}:{s.owner_id}:subnet/{s.id}",
            "cidr": s.cidr_block, "az": s.availability_zone, "az_id": s.availability_zone_id}


def _vpc(ec2, name, subnets):
    vpc = ec2.create_vpc(cidr_block="10.0.0.0/16")
    _tag(ec2, vpc.id, f"{name}-vpc")
    out = []
    zones = sorted(z.name for z in ec2.describe_availability_zones())
    for i in range(subnets):
        az = zones[i % len(zones)]
        s = ec2.create_subnet(vpc_id=vpc.id, cidr_block=f"10.0.{i + 1}.0/24", availability_zone=az)
        _tag(ec2, s.id, f"{name}-private-{az[-1]}")
        out.append(s)
    return vpc, out


def _role(account, external_id):
    iam = iam_backends[account]["aws"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BASE}:user/{DEPLOYER}"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]})
    role = iam.create_role(role_name=ROLE, assume_role_policy_document=trust, path="/",
                           permissions_boundary=None, description="kumo sandbox: the deployer's role",
                           tags=[], max_session_duration="3600", linked_service=None)
    iam.put_role_policy(ROLE, "admin", ADMIN)
    return role.arn


def _org_role(account):
    """The role AWS Organizations creates in an account it makes: trusts the
    management account, full access."""
    iam = iam_backends[account]["aws"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BASE}:root"}, "Action": "sts:AssumeRole"}]})
    # moto's CreateAccount makes one without path (its ARN then lacks the
    # "/") and without permissions: replaced by the one AWS makes
    if ORG_ROLE in {r.name for r in iam.roles.values()}:
        iam.delete_role(ORG_ROLE)
    role = iam.create_role(role_name=ORG_ROLE, assume_role_policy_document=trust, path="/",
                           permissions_boundary=None, description="kumo sandbox: the organization's access role",
                           tags=[], max_session_duration="3600", linked_service=None)
    iam.put_role_policy(ORG_ROLE, "admin", ADMIN)
    return role.arn


def _fleet_account(account, region):
    """One APP account of --accounts N: role, tagged VPC, subnets, app SG."""
    _org_role(account)
    ec2 = ec2_backends[account][region]
    vpc = ec2.create_vpc(cidr_block="10.0.0.0/16")
    ec2.create_tags([vpc.id], {"Name": "app", "kumo:sandbox": "seed"})
    zones = sorted(z.name for z in ec2.describe_availability_zones())[:2]
    subnets = []
    for i, (az, tier) in enumerate(((zones[0], "private"), (zones[1], "private"), (zones[0], "public"))):
        s = ec2.create_subnet(vpc_id=vpc.id, cidr_block=f"10.0.{i + 1}.0/24", availability_zone=az)
        ec2.create_tags([s.id], {"Name": f"app-{tier}-{az[-1]}", "tier": tier, "kumo:sandbox": "seed"})
        subnets.append({"id": s.id, "az": az, "tier": tier})
    sg = ec2.create_security_group("app-clients", "kumo sandbox: the application's instances", vpc_id=vpc.id)
    ec2.create_tags([sg.id], {"Name": "app-clients", "role": "app-clients", "kumo:sandbox": "seed"})
    return {"vpc_id": vpc.id, "subnets": subnets, "security_group_id": sg.id}


def _rds_name(i):
    return f"rds-{i:02d}"


def _fleet(region, count, rds_accounts=0):
    """--accounts N: the organizational unit `apps` and its N APP accounts
    (with --rds-accounts M, each tagged with the RDS account it uses, in turn)."""
    unit = org.add_unit(BASE, "apps")
    members = [(str(FLEET_BASE + i), f"app-{i:02d}", dict({"team": "orders", "env": "sandbox",
                                                           "wave": str((i - 1) % 3 + 1)},
                                                          **({"rds": _rds_name((i - 1) % rds_accounts + 1)}
                                                             if rds_accounts else {})))
               for i in range(1, count + 1)]
    org.add_members(BASE, members, unit)
    accounts = []
    for account, name, tags in members:
        accounts.append(dict(_fleet_account(account, region), id=account, name=name, tags=tags))
    return {"ou_id": unit, "ou_name": "apps", "role": ORG_ROLE, "accounts": accounts}


def _databases(account, region, subnets, db_sg, key_of=None):
    """The DB subnet group, the PostgreSQL and MySQL instances of DATABASES
    and their secrets in `account`, tagged db=postgres|mysql; return their
    views by key. `key_of(ident)` names the master password (one per
    instance of each account)."""
    rds = rds_backends[account][region]
    group = rds.create_subnet_group("orders-db-subnets", "kumo sandbox: the databases' subnets", subnets, [])
    sm = secretsmanager_backends[account][region]
    dbs = {}
    for key_name, ident, engine, family, port, user_name, db_name in DATABASES:
        master = password(key_of(ident) if key_of else ident)
        db = rds.create_db_instance({
            "db_instance_identifier": ident, "engine": engine, "db_instance_class": "db.t3.micro",
            "allocated_storage": 20, "master_username": user_name, "master_user_password": master,
            "db_name": db_name, "port": port, "db_subnet_group_name": group.name,
            "vpc_security_group_ids": [db_sg.id], "publicly_accessible": False,
            "availability_zone": subnets[0].availability_zone,
            "tags": [{"Key": "kumo:sandbox", "Value": "seed"}, {"Key": "db", "Value": key_name}]})
        rds_db.mark_available(db)
        secret = json.loads(sm.create_secret(
            name=f"kumo/{ident}", description=f"kumo sandbox: credentials of {ident}",
            secret_string=json.dumps({"username": user_name, "password": master, "engine": engine,
                                      "host": db.address, "port": port, "dbname": db_name}),
            secret_binary=None, tags=[{"Key": "db", "Value": key_name}], kms_key_id=None, client_request_token=None,
            replica_regions=[], force_overwrite=False))
        dbs[key_name] = {"id": ident, "engine": engine, "engine_family": family, "port": port,
                         "address": db.address, "arn": db.arn, "username": user_name,
                         "db_name": db_name, "secret_arn": secret["ARN"], "secret_name": secret["Name"]}
    return group, dbs


def _rds_fleet(region, count):
    """--rds-accounts M: the organizational unit `databases` and its M RDS
    accounts, each with its network, databases and secrets."""
    unit = org.add_unit(BASE, "databases")
    members = [(str(RDS_FLEET_BASE + i), _rds_name(i), {"kumo-role": "rds", "env": "sandbox"})
               for i in range(1, count + 1)]
    org.add_members(BASE, members, unit)
    accounts = []
    for account, name, tags in members:
        _org_role(account)
        ec2 = ec2_backends[account][region]
        vpc, subnets = _vpc(ec2, "rds", 2)
        ec2.create_tags([vpc.id], {"Name": "rds"})
        db_sg = ec2.create_security_group("orders-db", "kumo sandbox: the databases", vpc_id=vpc.id)
        _tag(ec2, db_sg.id, "orders-db")
        group, dbs = _databases(account, region, subnets, db_sg, key_of=lambda ident, a=account: f"{ident}@{a}")
        accounts.append({"id": account, "name": name, "tags": tags, "vpc_id": vpc.id,
                         "subnets": [_subnet_view(ec2, x) for x in subnets],
                         "db_security_group_id": db_sg.id, "db_subnet_group": group.name, "databases": dbs})
    return {"ou_id": unit, "ou_name": "databases", "role": ORG_ROLE, "accounts": accounts}


def build(region="ap-northeast-1", organization=True, org_sharing=True, deployer_secret=None, accounts=0,
          rds_accounts=0):
    """Create the world in moto's backends; return the world description
    (ids, ARNs; no secrets except what `deployer_secret` is, returned apart)."""
    mock_random.seed(RANDOM_SEED)
    deployer_secret = deployer_secret or secrets.token_urlsafe(30)

    # --- base account: the deployer, allowed to assume the two roles only ----
    iam = iam_backends[BASE]["aws"]
    user = iam.create_user(region_name=region, user_name=DEPLOYER, path="/", tags=[])
    role_arns = {"app": f"arn:aws:iam::{APP}:role/{ROLE}", "rds": f"arn:aws:iam::{RDS}:role/{ROLE}"}
    iam.put_user_policy(DEPLOYER, "assume-kumo-roles", json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": sorted(role_arns.values()) + (
                [f"arn:aws:iam::*:role/{ORG_ROLE}"] if (accounts or rds_accounts) and organization else [])},
            {"Effect": "Allow", "Action": ["organizations:Describe*", "organizations:List*",
                                           "iam:GetUser", "sts:GetCallerIdentity"], "Resource": "*"},
            # the organization's management account turns RAM sharing with it on
            {"Effect": "Allow", "Action": "ram:EnableSharingWithAwsOrganization", "Resource": "*"}]}))
    key = iam.create_access_key(DEPLOYER)
    iam.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id = DEPLOYER_KEY_ID
    key.secret_access_key = deployer_secret
    iam.access_keys[key.physical_resource_id] = key

    world = {"region": region,
             "accounts": {"base": BASE, "app": APP, "rds": RDS},
             "deployer": {"user_arn": user.arn, "access_key_id": DEPLOYER_KEY_ID},
             "roles": {}, "organization": None}

    # --- organization ------------------------------------------------------------
    if organization:
        o = org.create(BASE, {APP: "app", RDS: "rds"}, region=region, sharing=org_sharing)
        world["organization"] = {"id": o.id, "arn": o.arn, "management_account": BASE,
                                 "ram_sharing": org_sharing}
        if accounts:
            world["fleet"] = _fleet(region, accounts, rds_accounts)

    # --- roles the deployer may assume, with an external ID ---------------------
    for name, account in (("app", APP), ("rds", RDS)):
        world["roles"][name] = {"arn": _role(account, EXTERNAL_IDS[name]),
                                "external_id": EXTERNAL_IDS[name]}

    # --- APP: VPC, subnets in 3 AZs, app security group --------------------------
    ec2a = ec2_backends[APP][region]
    vpc, subnets = _vpc(ec2a, "app", 3)
    app_sg = ec2a.create_security_group("app-clients", "kumo sandbox: the application's instances",
                                        vpc_id=vpc.id)
    _tag(ec2a, app_sg.id, "app-clients")
    world["app"] = {"vpc_id": vpc.id, "cidr": vpc.cidr_block,
                    "subnets": [_subnet_view(ec2a, s) for s in subnets],
                    "security_group_id": app_sg.id}

    # --- RDS: VPC, DB security group, subnet group, two DBs and their secrets ----
    ec2r = ec2_backends[RDS][region]
    rvpc, rsubnets = _vpc(ec2r, "rds", 2)
    db_sg = ec2r.create_security_group("orders-db", "kumo sandbox: the databases", vpc_id=rvpc.id)
    _tag(ec2r, db_sg.id, "orders-db")
    group, dbs = _databases(RDS, region, rsubnets, db_sg)
    world["rds"] = {"vpc_id": rvpc.id, "cidr": rvpc.cidr_block,
                    "subnets": [_subnet_view(ec2r, s) for s in rsubnets],
                    "db_security_group_id": db_sg.id, "db_subnet_group": group.name,
                    "databases": dbs}
    # after every other seeded resource: the ids above stay as they were
    if organization and rds_accounts:
        world["rds_fleet"] = _rds_fleet(region, rds_accounts)
    # what users create afterwards gets unpredictable ids again (and session
    # keys of one run never repeat in the next)
    mock_random.seed()
    return world, deployer_secret
