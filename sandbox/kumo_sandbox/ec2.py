"""EC2 for VPC sharing: the participant sees the subnets shared with it
through RAM and their VPCs (DescribeSubnets, DescribeVpcs), may create
security groups in a shared VPC, and security-group rules may reference
another account's group (`account/sg-id`, i.e. UserIdGroupPair{UserId, GroupId}).

Also: a group used by a proxy, a proxy endpoint or a DB instance can't be
deleted (DependencyViolation), as in AWS, so teardown order matters.
"""
from moto.ec2.exceptions import (DependencyViolationError, InvalidSecurityGroupNotFoundError,
                                 InvalidSubnetIdError, InvalidVPCIdError)
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.utils import generic_filter
from moto.rds.models import rds_backends

from . import ram

_ORIG = {}


def shared_subnets(account_id, region):
    out = []
    for owner, subnet_id in sorted(ram.shared_subnet_ids(account_id, region)):
        backend = ec2_backends[owner][region]
        for zone in backend.subnets.values():
            if subnet_id in zone:
                out.append(zone[subnet_id])
    return out


def shared_vpcs(account_id, region):
    out = {}
    for s in shared_subnets(account_id, region):
        vpc = ec2_backends[s.owner_id][region].vpcs.get(s.vpc_id)
        if vpc is not None:
            out[vpc.id] = vpc
    return list(out.values())


def describe_subnets(self, subnet_ids=None, filters=None):
    shared = shared_subnets(self.account_id, self.region_name)
    if not shared:
        return _ORIG["describe_subnets"](self, subnet_ids, filters)
    matches = _ORIG["describe_subnets"](self, None, None)
    seen = {s.id for s in matches}
    matches += [s for s in shared if s.id not in seen]
    if subnet_ids:
        matches = [s for s in matches if s.id in subnet_ids]
        unknown = set(subnet_ids) - {s.id for s in matches}
        if unknown:
            raise InvalidSubnetIdError(sorted(unknown)[0])
    if filters:
        matches = generic_filter(filters, matches)
    return matches


def get_subnet(self, subnet_id):
    try:
        return _ORIG["get_subnet"](self, subnet_id)
    except InvalidSubnetIdError:
        for s in shared_subnets(self.account_id, self.region_name):
            if s.id == subnet_id:
                return s
        raise


def describe_vpcs(self, vpc_ids=None, filters=None):
    shared = shared_vpcs(self.account_id, self.region_name)
    if not shared:
        return _ORIG["describe_vpcs"](self, vpc_ids, filters)
    matches = list(self.vpcs.values()) + [v for v in shared if v.id not in self.vpcs]
    if vpc_ids:
        matches = [v for v in matches if v.id in vpc_ids]
        unknown = set(vpc_ids) - {v.id for v in matches}
        if unknown:
            raise InvalidVPCIdError(sorted(unknown)[0])
    if filters:
        matches = generic_filter(filters, matches)
    return matches


def _visible_vpc(backend, vpc_id):
    return vpc_id in backend.vpcs or any(v.id == vpc_id for v in shared_vpcs(backend.account_id,
                                                                              backend.region_name))


def create_security_group(self, name, description, vpc_id=None, tags=None, force=False, is_default=None):
    if vpc_id and not force and not _visible_vpc(self, vpc_id):
        raise InvalidVPCIdError(vpc_id)
    return _ORIG["create_security_group"](self, name, description, vpc_id, tags, force, is_default)


def _find_group_anywhere(region, group_id, vpc_id):
    for account_id, regions in list(ec2_backends.items()):
        backend = regions[region] if region in regions.keys() else None
        if backend is None:
            continue
        sg = backend.get_security_group_from_id(group_id)
        if sg is not None and (vpc_id is None or sg.vpc_id == vpc_id):
            return account_id, sg
    return None, None


def _add_source_group(self, source_groups, vpc_id):
    out = []
    for item in source_groups or []:
        owner = item.get("UserId") or item.get("OwnerId")
        gid = item.get("GroupId")
        if gid and (owner is None or owner == self.account_id) and \
                not self.get_security_group_by_name_or_id(gid, vpc_id):
            # a bare id of a group in the same (shared) VPC owned by another account
            found_owner, _ = _find_group_anywhere(self.region_name, gid, vpc_id)
            owner = found_owner or owner
        if gid and owner and owner != self.account_id:
            other = ec2_backends[owner][self.region_name]
            if other.get_security_group_from_id(gid) is None:
                raise InvalidSecurityGroupNotFoundError(gid)
            item = dict(item, UserId=owner, OwnerId=owner)
            out.append(item)
        else:
            out.extend(_ORIG["_add_source_group"](self, [item], vpc_id))
    return out


def _users_of_group(region, group_id):
    """Names of live RDS resources (any account) that use the group."""
    users = []
    for _account, regions in list(rds_backends.items()):
        if region not in regions.keys():
            continue
        rds = regions[region]
        for p in list(rds.db_proxies.values()) + list(rds.__dict__.get("_kumo_deleting_proxies", {}).values()):
            if group_id in (p.vpc_security_group_ids or []):
                users.append(f"DB proxy {p.db_proxy_name}")
        for e in list(rds.__dict__.get("_kumo_endpoints", {}).values()):
            if group_id in e.vpc_security_group_ids:
                users.append(f"DB proxy endpoint {e.db_proxy_endpoint_name}")
        for d in list(rds.databases.values()) + list(rds.__dict__.get("_kumo_deleting_dbs", {}).values()):
            if group_id in (d.vpc_security_group_ids or []):
                users.append(f"DB instance {d.db_instance_identifier}")
    return users


def delete_security_group(self, name=None, group_id=None):
    if group_id:
        users = _users_of_group(self.region_name, group_id)
        if users:
            raise DependencyViolationError(f"resource {group_id} has a dependent object ({users[0]})")
        for account_id, regions in list(ec2_backends.items()):
            if account_id == self.account_id or self.region_name not in regions.keys():
                continue
            groups = [g for vpc_groups in regions[self.region_name].groups.values() for g in vpc_groups.values()]
            for sg in groups:
                for rule in sg.ingress_rules + sg.egress_rules:
                    if rule.source_group.get("GroupId") == group_id:
                        raise DependencyViolationError(
                            f"resource {group_id} has a dependent object (referenced by {sg.id})")
    return _ORIG["delete_security_group"](self, name, group_id)


def install():
    for cls, names in ((SubnetBackend, ("describe_subnets", "get_subnet")),
                       (VPCBackend, ("describe_vpcs",)),
                       (SecurityGroupBackend, ("create_security_group", "_add_source_group",
                                               "delete_security_group"))):
        for name in names:
            _ORIG[name] = getattr(cls, name)
            setattr(cls, name, globals()[name])
