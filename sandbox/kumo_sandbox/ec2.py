"""EC2 for VPC sharing: the participant sees the subnets shared with it
through RAM and their VPCs (DescribeSubnets, DescribeVpcs), may create
security groups in a shared VPC, and security-group rules may reference
another account's group (`account/sg-id`, i.e. UserIdGroupPair{UserId, GroupId}).

Also: a group used by a proxy, a proxy endpoint or a DB instance, or named
by another group's rule (any account), can't be deleted (DependencyViolation),
as in AWS, so teardown order matters.

Security-group rules follow the EC2 API reference where moto does not:
- a rule is identified by protocol, ports and source; its description is not
  part of it (revoking without the description works; authorizing the same
  rule with another description is InvalidPermission.Duplicate);
- Authorize/Revoke with several permissions succeed or fail as a whole, and
  Authorize answers with every rule it added (moto: only the last
  permission's), Revoke with the rules it removed;
- DescribeSecurityGroupRules reports the description and owner of rules that
  reference a group (moto drops them).
"""
from moto.ec2.exceptions import (DependencyViolationError, EC2ClientError, FilterNotImplementedError,
                                 InvalidCIDRSubnetError, InvalidSecurityGroupNotFoundError, InvalidSubnetIdError,
                                 InvalidVPCIdError)
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule
from moto.ec2.responses import EC2Response
from moto.ec2.responses.security_groups import SecurityGroups
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
            # a proxy whose deletion completed (status "deleted", not yet
            # reaped from the deleting store) holds no network interface
            if p.status != "deleted" and group_id in (p.vpc_security_group_ids or []):
                users.append(f"DB proxy {p.db_proxy_name}")
        for e in list(rds.__dict__.get("_kumo_endpoints", {}).values()):
            if group_id in e.vpc_security_group_ids:
                users.append(f"DB proxy endpoint {e.db_proxy_endpoint_name}")
        for d in list(rds.databases.values()) + list(rds.__dict__.get("_kumo_deleting_dbs", {}).values()):
            if group_id in (d.vpc_security_group_ids or []):
                users.append(f"DB instance {d.db_instance_identifier}")
    return users


def _referencing_group(region, group_id):
    """The id of another group (any account) whose rule names `group_id`, or None.
    A group's rules that name the group itself don't keep it alive."""
    for _account, regions in list(ec2_backends.items()):
        if region not in regions.keys():
            continue
        for vpc_groups in list(regions[region].groups.values()):
            for sg in list(vpc_groups.values()):
                if sg.id == group_id:
                    continue
                for rule in sg.ingress_rules + sg.egress_rules:
                    if rule.source_group.get("GroupId") == group_id:
                        return sg.id
    return None


def delete_security_group(self, name=None, group_id=None):
    if group_id:
        users = _users_of_group(self.region_name, group_id)
        if users:
            raise DependencyViolationError(f"resource {group_id} has a dependent object ({users[0]})")
        # EC2 API reference, DeleteSecurityGroup: "If you attempt to delete a security
        # group that is associated with an instance or network interface, is referenced
        # by another security group in the same VPC, or has a VPC association, the
        # operation fails with DependencyViolation." A shared VPC is one VPC: the other
        # account's groups in it count (moto checks no reference at all).
        other = _referencing_group(self.region_name, group_id)
        if other:
            raise DependencyViolationError(f"resource {group_id} has a dependent object (referenced by {other})")
    return _ORIG["delete_security_group"](self, name, group_id)


# --- rules: identity, atomic requests, complete answers ---------------------
def _rule_eq(self, other):
    """Same rule: protocol, ports, and source (CIDR, group and its owner, prefix
    list). EC2 API reference, RevokeSecurityGroupIngress: "Each rule has a protocol,
    from and to ports, and source (CIDR range, security group, or prefix list). [...]
    If the security group rule has a description, you do not need to specify the
    description to revoke the rule." (moto compares the group pair's description.)"""
    if not isinstance(other, SecurityGroupRule) or self.ip_protocol != other.ip_protocol:
        return False
    for key in ("CidrIp", "CidrIpv6"):
        if self.ip_range.get(key) != other.ip_range.get(key):
            return False
    mine, theirs = self.source_group or {}, other.source_group or {}
    if (mine.get("GroupId") or mine.get("GroupName")) != (theirs.get("GroupId") or theirs.get("GroupName")):
        return False
    if mine and mine.get("UserId") != theirs.get("UserId"):
        return False
    if self.prefix_list_id != other.prefix_list_id:
        return False
    return self.ip_protocol == "-1" or (self.from_port, self.to_port) == (other.from_port, other.to_port)


def _rule_description(self):
    for source in (self.ip_range, self.source_group):
        if source and source.get("Description") is not None:
            return source["Description"]
    return None


def _group_of_request(response):
    ref = response._get_param("GroupId") or response._get_param("GroupName")
    return response.ec2_backend.get_security_group_by_name_or_id(ref) if ref else None


def _authorize(response, direction):
    response.error_on_dryrun()
    group = _group_of_request(response)
    saved = (list(group.ingress_rules), list(group.egress_rules)) if group else None
    added = []
    try:
        for kwargs in response._process_rules_from_querystring():
            rules, _ = getattr(response.ec2_backend, f"authorize_security_group_{direction}")(**kwargs)
            added += rules
    except Exception:
        # one request, one outcome: a duplicate in the second permission leaves
        # the first one unadded, as in AWS
        if group:
            group.ingress_rules, group.egress_rules = saved
        raise
    return ActionResult({"Return": True, "SecurityGroupRules": added})


def _revoke(response, direction):
    response.error_on_dryrun()
    group = _group_of_request(response)
    saved = (list(group.ingress_rules), list(group.egress_rules)) if group else None
    try:
        for args in response._process_rules_from_querystring():
            del args["sgrule_tags"]
            getattr(response.ec2_backend, f"revoke_security_group_{direction}")(**args)
    except Exception:
        # EC2 API reference: "For a non-default VPC, if the values you specify do not
        # match the existing rule's values, an InvalidPermission.NotFound client error
        # is returned, and no rules are revoked." (moto keeps the earlier revocations)
        if group:
            group.ingress_rules, group.egress_rules = saved
        raise
    revoked = []
    if group:
        kept = {r.id for r in getattr(group, f"{direction}_rules")}
        for r in saved[0 if direction == "ingress" else 1]:
            if r.id in kept:
                continue
            item = {"SecurityGroupRuleId": r.id, "GroupId": group.id, "IsEgress": r.is_egress,
                    "IpProtocol": r.ip_protocol, "FromPort": -1 if r.from_port is None else r.from_port,
                    "ToPort": -1 if r.to_port is None else r.to_port, "CidrIpv4": r.cidr_ipv4,
                    "CidrIpv6": r.cidr_ipv6, "PrefixListId": r.prefix_list_id,
                    "ReferencedGroupId": (r.source_group or {}).get("GroupId"), "Description": r.description}
            revoked.append({k: v for k, v in item.items() if v is not None})
    return ActionResult({"Return": True, "RevokedSecurityGroupRules": revoked})


def r_authorize_security_group_ingress(self):
    return _authorize(self, "ingress")


def r_authorize_security_group_egress(self):
    return _authorize(self, "egress")


def r_revoke_security_group_ingress(self):
    return _revoke(self, "ingress")


def r_revoke_security_group_egress(self):
    return _revoke(self, "egress")


# --- error texts as EC2 writes them (moto puts Python reprs of sets and dicts in them)
def _one_id(value):
    """The id an EC2 error names: the first of several (EC2 names one), never a repr."""
    if isinstance(value, (set, frozenset, list, tuple)):
        items = sorted(str(v) for v in value)
        return items[0] if items else ""
    return "" if value is None else str(value)


def _vpc_not_found(self, vpc_id):
    EC2ClientError.__init__(self, "InvalidVpcID.NotFound", f"The vpc ID '{_one_id(vpc_id)}' does not exist")


def _group_not_found(self, name):
    EC2ClientError.__init__(self, "InvalidGroup.NotFound", f"The security group '{_one_id(name)}' does not exist")


def _bad_cidr(self, cidr):
    if isinstance(cidr, dict):
        cidr = cidr.get("CidrIp", cidr.get("CidrIpv6", ""))
    EC2ClientError.__init__(self, "InvalidParameterValue",
                            f"Value ({cidr}) for parameter cidrIp is invalid. This is not a valid CIDR block.")


def call_action(self):
    """An unknown filter name is EC2's InvalidParameterValue "The filter 'X' is
    invalid", not moto's HTML 500 (FilterNotImplementedError, or a KeyError on
    its filter table)."""
    try:
        return _ORIG["call_action"](self)
    except (FilterNotImplementedError, KeyError) as e:
        try:
            names = list(self._filters_from_querystring())
        except EC2ClientError:
            names = []
        if isinstance(e, KeyError):
            name = e.args[0] if e.args else None
            if name not in names:
                raise
        else:
            quoted = [n for n in names if f"'{n}'" in str(e)]
            name = quoted[0] if quoted else (names[0] if names else "")
        err = EC2ClientError("InvalidParameterValue",
                             f"The filter '{name}' is invalid (or one the sandbox does not support; "
                             "filter on fewer names or look the result over yourself).")
        status, headers, body = self.serialized(ActionResult(err))
        return status, headers, body


def install():
    for cls, names in ((SubnetBackend, ("describe_subnets", "get_subnet")),
                       (VPCBackend, ("describe_vpcs",)),
                       (SecurityGroupBackend, ("create_security_group", "_add_source_group",
                                               "delete_security_group"))):
        for name in names:
            _ORIG[name] = getattr(cls, name)
            setattr(cls, name, globals()[name])
    _ORIG["call_action"] = EC2Response.call_action
    EC2Response.call_action = call_action
    InvalidVPCIdError.__init__ = _vpc_not_found
    InvalidSecurityGroupNotFoundError.__init__ = _group_not_found
    InvalidCIDRSubnetError.__init__ = _bad_cidr
    SecurityGroupRule.__eq__ = _rule_eq
    SecurityGroupRule.description = property(_rule_description)
    # the group's owner: the account whose backend holds the rule
    SecurityGroupRule.group_owner_id = property(lambda self: self.ec2_backend.account_id)
    for name in ("authorize_security_group_ingress", "authorize_security_group_egress",
                 "revoke_security_group_ingress", "revoke_security_group_egress"):
        fn = globals()["r_" + name]
        fn.__name__ = name
        setattr(SecurityGroups, name, fn)
