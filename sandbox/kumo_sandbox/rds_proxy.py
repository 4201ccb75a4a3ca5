"""RDS Proxy: endpoints (create, describe, modify, delete), ModifyDBProxy,
status lifecycles of proxies, endpoints and targets, target health, and the
modeled errors where moto answers HTTP 500.

moto 5.2.1 has proxies and targets but no proxy endpoints, reports every
proxy `available` at once and raises KeyError (HTTP 500) for unknown names.
"""
import os
import re

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.moto_api._internal import mock_random as random
import moto.rds.models as rds_models
import moto.rds.responses as rds_responses
from moto.rds.exceptions import DBProxyNotFoundFault, RDSClientError

from . import health, lifecycle

ENDPOINTS_PER_PROXY = 20
NAME_RE = re.compile(r"[a-zA-Z](?:-?[a-zA-Z0-9]+)*")


class DBProxyEndpointNotFoundFault(RDSClientError):
    def __init__(self, name):
        super().__init__("DBProxyEndpointNotFoundFault",
                         f"The DB proxy endpoint {name} doesn't exist.")


class DBProxyEndpointAlreadyExistsFault(RDSClientError):
    def __init__(self, name):
        super().__init__("DBProxyEndpointAlreadyExistsFault",
                         f"A DB proxy endpoint named {name} already exists in this account and Region.")


class DBProxyEndpointQuotaExceededFault(RDSClientError):
    def __init__(self, proxy):
        super().__init__("DBProxyEndpointQuotaExceededFault",
                         f"DB proxy {proxy} already has {ENDPOINTS_PER_PROXY} endpoints.")


class InvalidDBProxyStateFault(RDSClientError):
    def __init__(self, name, status):
        super().__init__("InvalidDBProxyStateFault",
                         f"DB proxy {name} is in state {status}; the operation needs state available.")


class InvalidDBProxyEndpointStateFault(RDSClientError):
    def __init__(self, name, status):
        super().__init__("InvalidDBProxyEndpointStateFault",
                         f"DB proxy endpoint {name} is in state {status}; the operation needs state available.")


class InvalidSubnet(RDSClientError):
    def __init__(self, msg):
        super().__init__("InvalidSubnet", msg)


class InvalidParameterValue(RDSClientError):
    def __init__(self, msg):
        super().__init__("InvalidParameterValue", msg)


class DBInstanceNotFound(RDSClientError):
    def __init__(self, name):
        super().__init__("DBInstanceNotFound", f"DBInstance {name} not found.")


class InvalidDBInstanceState(RDSClientError):
    def __init__(self, name, status):
        super().__init__("InvalidDBInstanceState",
                         f"DB instance {name} is in state {status}; it must be one of "
                         "[AVAILABLE, MODIFYING, BACKING_UP] to be registered.")


class DBProxyTargetAlreadyRegisteredFault(RDSClientError):
    def __init__(self, name):
        super().__init__("DBProxyTargetAlreadyRegisteredFault",
                         f"{name} is already registered with this DB proxy target group.")


class DBProxyTargetNotFoundFault(RDSClientError):
    def __init__(self, name):
        super().__init__("DBProxyTargetNotFoundFault", f"Target {name} is not registered.")


class DBProxyTargetGroupNotFoundFault(RDSClientError):
    def __init__(self, name):
        super().__init__("DBProxyTargetGroupNotFoundFault",
                         f"Target group {name} doesn't exist; a proxy has only the target group 'default'.")


def _validate_name(kind, name):
    if not name or len(name) > 63 or not NAME_RE.fullmatch(name):
        raise InvalidParameterValue(
            f"{kind} '{name or ''}' is not valid: 1-63 letters, digits or hyphens, starting with a letter, "
            "no trailing hyphen and no two consecutive hyphens.")


# --- state kept on the backend (so that /moto-api/reset clears it) ----------
def _store(backend, key):
    return backend.__dict__.setdefault(key, {})


def endpoints(backend):
    return _store(backend, "_kumo_endpoints")


def deleting_proxies(backend):
    return _store(backend, "_kumo_deleting_proxies")


def _lc(obj):
    return obj.__dict__.get("_kumo_lc")


def get_proxy(backend, name, include_deleting=False):
    proxy = backend.db_proxies.get((name or "").lower())
    if proxy is None and include_deleting:
        proxy = _reap_proxy(backend, (name or "").lower())
    if proxy is None:
        raise DBProxyNotFoundFault(name)
    return proxy


def _reap_proxy(backend, name):
    """A proxy being deleted while its deletion lasts, else None."""
    proxy = deleting_proxies(backend).get(name)
    if proxy is not None and proxy.status == "deleted":
        deleting_proxies(backend).pop(name, None)
        return None
    return proxy


def _require_available(proxy):
    if proxy.status != "available":
        raise InvalidDBProxyStateFault(proxy.db_proxy_name, proxy.status)


def _subnets_and_vpc(backend, subnet_ids, what):
    """Look subnets up as the caller sees them (RAM-shared ones included)."""
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    if not subnet_ids:
        raise InvalidSubnet(f"{what}: VpcSubnetIds must name at least one subnet.")
    try:
        subnets = ec2.describe_subnets(subnet_ids=list(subnet_ids))
    except InvalidSubnetIdError as e:
        raise InvalidSubnet(f"{what}: a subnet is unknown or not shared with this account: {e.message}")
    vpcs = {s.vpc_id for s in subnets}
    if len(vpcs) != 1:
        raise InvalidSubnet(f"{what}: all subnets must belong to the same VPC (got {', '.join(sorted(vpcs))}).")
    return subnets, vpcs.pop()


def _own_security_groups(backend, sg_ids, vpc_id, what):
    """Security groups must exist in the caller's account and in the VPC (AWS
    refuses another account's groups for a proxy or endpoint)."""
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    for sg_id in sg_ids:
        sg = ec2.get_security_group_from_id(sg_id)
        if sg is None:
            raise InvalidParameterValue(
                f"{what}: security group {sg_id} is not owned by account {backend.account_id}; "
                "use a security group of your own account.")
        if sg.vpc_id != vpc_id:
            raise InvalidParameterValue(
                f"{what}: security group {sg_id} is in {sg.vpc_id}, not in the subnets' VPC {vpc_id}.")


class DBProxyEndpoint(rds_models.TaggingMixin):
    """Plain object read by moto's model-driven serializer (attribute names
    are the snake_case forms of the DBProxyEndpoint shape's members)."""

    def __init__(self, backend, proxy, name, subnet_ids, sg_ids, vpc_id, target_role,
                 network_type, tags, final_status="available"):
        self.db_proxy_endpoint_name = name
        self.db_proxy_name = proxy.db_proxy_name
        self.vpc_subnet_ids = list(subnet_ids)
        self.vpc_security_group_ids = list(sg_ids)
        self.vpc_id = vpc_id
        self.target_role = target_role or "READ_WRITE"
        self.endpoint_network_type = network_type or "IPV4"
        self.is_default = False
        self.created_date = utcnow()
        self.tags = tags or []
        rid = random.get_random_string(length=17, lower_case=True)
        self.db_proxy_endpoint_arn = (
            f"arn:{backend.partition}:rds:{backend.region_name}:{backend.account_id}"
            f":db-proxy-endpoint:prx-endpoint-{rid}")
        self.endpoint = (f"{name}.endpoint.proxy-{proxy.url_identifier}."
                         f"{backend.region_name}.rds.amazonaws.com")
        graph = dict(lifecycle.RESOURCE)
        graph["creating"] = final_status
        self._kumo_lc = lifecycle.Lifecycle("endpoint", "creating", graph)

    @property
    def arn(self):
        return self.db_proxy_endpoint_arn

    @property
    def status(self):
        return self.__dict__.get("_kumo_status_view") or self._kumo_lc.status


class DefaultEndpoint:
    """The endpoint RDS creates with every proxy (IsDefault=true)."""

    def __init__(self, proxy):
        self.db_proxy_endpoint_name = "default"
        self.db_proxy_endpoint_arn = proxy.arn.replace(":db-proxy:", ":db-proxy-endpoint:")
        self.db_proxy_name = proxy.db_proxy_name
        self.status = proxy.status
        self.vpc_id = proxy.vpc_id
        self.vpc_subnet_ids = proxy.vpc_subnet_ids
        self.vpc_security_group_ids = proxy.vpc_security_group_ids
        self.endpoint = proxy.endpoint
        self.created_date = proxy.created_date
        self.target_role = "READ_WRITE"
        self.is_default = True
        self.endpoint_network_type = "IPV4"


# --- backend methods ------------------------------------------------------
def create_db_proxy(self, db_proxy_name, engine_family, auth, role_arn, vpc_subnet_ids,
                    vpc_security_group_ids, require_tls, idle_client_timeout, debug_logging, tags):
    _validate_name("DBProxyName", db_proxy_name)
    name = db_proxy_name.lower()  # RDS stores proxy names in lower case
    if name in self.db_proxies or name in deleting_proxies(self):
        raise rds_models.DBProxyAlreadyExistsFault(name)
    subnets, vpc_id = _subnets_and_vpc(self, vpc_subnet_ids, "CreateDBProxy")
    if len({s.availability_zone for s in subnets}) < 2:
        raise InvalidSubnet("CreateDBProxy: VpcSubnetIds must cover at least two Availability Zones.")
    if vpc_security_group_ids:
        _own_security_groups(self, vpc_security_group_ids, vpc_id, "CreateDBProxy")
    if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", role_arn or ""):
        raise InvalidParameterValue(f"RoleArn '{role_arn or ''}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME).")
    return _ORIG["create_db_proxy"](self, name, engine_family, auth, role_arn, list(vpc_subnet_ids),
                                    vpc_security_group_ids, require_tls, idle_client_timeout,
                                    debug_logging, tags)


def describe_db_proxies(self, db_proxy_name=None, filters=None):
    if db_proxy_name:
        proxies = [get_proxy(self, db_proxy_name, include_deleting=True)]
    else:
        proxies = list(self.db_proxies.values())
        for name in list(deleting_proxies(self)):
            p = _reap_proxy(self, name)
            if p is not None:
                proxies.append(p)
    for p in proxies:
        _lc(p).poll()
    # a proxy whose deletion completed on this poll is gone
    live = [p for p in proxies if p.status != "deleted"]
    if db_proxy_name and not live:
        deleting_proxies(self).pop(db_proxy_name.lower(), None)
        raise DBProxyNotFoundFault(db_proxy_name)
    return live


def modify_db_proxy(self, db_proxy_name, new_db_proxy_name=None, auth=None, require_tls=None,
                    idle_client_timeout=None, debug_logging=None, role_arn=None,
                    security_groups=None):
    proxy = get_proxy(self, db_proxy_name)
    _require_available(proxy)
    if new_db_proxy_name and new_db_proxy_name.lower() != proxy.db_proxy_name:
        _validate_name("NewDBProxyName", new_db_proxy_name)
        new = new_db_proxy_name.lower()
        if new in self.db_proxies:
            raise rds_models.DBProxyAlreadyExistsFault(new)
        self.db_proxies.pop(proxy.db_proxy_name)
        for ep in endpoints(self).values():
            if ep.db_proxy_name == proxy.db_proxy_name:
                ep.db_proxy_name = new
        proxy.db_proxy_name = new
        self.db_proxies[new] = proxy
    if security_groups:
        _own_security_groups(self, security_groups, proxy.vpc_id, "ModifyDBProxy")
        proxy.vpc_security_group_ids = list(security_groups)
    if idle_client_timeout is not None and not 1 <= int(idle_client_timeout) <= 28800:
        raise InvalidParameterValue("IdleClientTimeout must be between 1 and 28800 seconds.")
    for attr, val in (("auth", auth), ("require_tls", require_tls),
                      ("idle_client_timeout", idle_client_timeout),
                      ("debug_logging", debug_logging), ("role_arn", role_arn)):
        if val is not None:
            setattr(proxy, attr, val)
    proxy.updated_date = utcnow()
    _lc(proxy).force("modifying")
    return proxy


def delete_db_proxy(self, proxy_name):
    proxy = get_proxy(self, proxy_name)
    if proxy.status == "deleting":
        raise InvalidDBProxyStateFault(proxy_name, "deleting")
    # deleting a proxy deletes its endpoints too
    for ep in endpoints(self).values():
        if ep.db_proxy_name == proxy.db_proxy_name and ep.status != "deleting":
            ep._kumo_lc.force("deleting")
    self.db_proxies.pop(proxy.db_proxy_name)
    _lc(proxy).force("deleting")
    deleting_proxies(self)[proxy.db_proxy_name] = proxy
    return lifecycle.view(proxy, "deleting")


def _target_group(proxy, name):
    tg = proxy.proxy_target_groups.get(name or "default")
    if tg is None:
        raise DBProxyTargetGroupNotFoundFault(name)
    return tg


def register_db_proxy_targets(self, db_proxy_name, target_group_name, db_cluster_identifiers,
                              db_instance_identifiers):
    proxy = get_proxy(self, db_proxy_name)
    _require_available(proxy)
    tg = _target_group(proxy, target_group_name)
    registered = {t.rds_resource_id for t in tg.targets}
    for cid in db_cluster_identifiers or []:
        if cid not in self.clusters:
            raise RDSClientError("DBClusterNotFoundFault", f"DBCluster {cid} not found.")
    for iid in db_instance_identifiers or []:
        if iid in registered:
            raise DBProxyTargetAlreadyRegisteredFault(iid)
        db = self.databases.get(iid)
        if db is None:
            raise DBInstanceNotFound(iid)
        if db.status not in ("available", "modifying", "backing-up"):
            raise InvalidDBInstanceState(iid, db.status)
    if (db_instance_identifiers or db_cluster_identifiers) and registered:
        raise InvalidParameterValue("A DB proxy target group can have only one target (instance or cluster).")
    targets = _ORIG["register_db_proxy_targets"](self, proxy.db_proxy_name, target_group_name,
                                                 db_cluster_identifiers or [], db_instance_identifiers or [])
    # an Aurora cluster is tracked, and each of its instances is a target of its own
    tg = _target_group(proxy, target_group_name)
    for cid in db_cluster_identifiers or []:
        for member in self.clusters[cid].members:
            t = rds_models.DBProxyTarget(backend=self, resource_id=member.db_instance_identifier,
                                         endpoint=None, type="RDS_INSTANCE")
            t.role = "READ_WRITE" if getattr(member, "is_cluster_writer", False) else "READ_ONLY"
            t.__dict__["_kumo_cluster"] = cid
            tg.targets.append(t)
            targets.append(t)
    for t in targets:
        t.__dict__["_kumo_proxy"] = proxy
    return targets


def deregister_db_proxy_targets(self, db_proxy_name, target_group_name, db_cluster_identifiers,
                                db_instance_identifiers):
    proxy = get_proxy(self, db_proxy_name)
    tg = _target_group(proxy, target_group_name)
    registered = {t.rds_resource_id for t in tg.targets}
    for rid in list(db_cluster_identifiers or []) + list(db_instance_identifiers or []):
        if rid not in registered:
            raise DBProxyTargetNotFoundFault(rid)
    out = _ORIG["deregister_db_proxy_targets"](self, proxy.db_proxy_name, target_group_name,
                                               db_cluster_identifiers or [], db_instance_identifiers or [])
    gone = set(db_cluster_identifiers or [])
    tg.targets = [t for t in tg.targets if t.__dict__.get("_kumo_cluster") not in gone]
    return out


def describe_db_proxy_targets(self, proxy_name, target_group_name=None):
    proxy = get_proxy(self, proxy_name)
    targets = list(_target_group(proxy, target_group_name).targets)
    for t in targets:
        if _lc(t):
            _lc(t).poll()
    return targets


def describe_db_proxy_target_groups(self, proxy_name, target_group_name=None):
    proxy = get_proxy(self, proxy_name)
    if target_group_name:
        return [_target_group(proxy, target_group_name)]
    return list(proxy.proxy_target_groups.values())


def modify_db_proxy_target_group(self, proxy_name, config, target_group_name=None):
    """Every setting given is kept and reported back by DescribeDBProxyTargetGroups;
    the ones left out keep their values (moto resets MaxIdleConnectionsPercent to
    half the maximum on every call and never reports InitQuery)."""
    proxy = get_proxy(self, proxy_name)
    _require_available(proxy)
    tg = _target_group(proxy, target_group_name)
    config = config if config is not None else {}
    mc = config.get("MaxConnectionsPercent")
    mi = config.get("MaxIdleConnectionsPercent")
    # RDS API reference, ConnectionPoolConfiguration.MaxConnectionsPercent: "If you
    # specify MaxIdleConnectionsPercent, then you must also include a value for this
    # parameter."
    if mi is not None and mc is None:
        raise InvalidParameterValue("MaxIdleConnectionsPercent needs MaxConnectionsPercent in the same "
                                    "ConnectionPoolConfig; send both.")
    if mc is not None and not 1 <= int(mc) <= 100:
        raise InvalidParameterValue(f"MaxConnectionsPercent must be between 1 and 100, got {mc}.")
    if mi is not None and not 0 <= int(mi) <= int(mc):
        raise InvalidParameterValue(f"MaxIdleConnectionsPercent must be between 0 and MaxConnectionsPercent "
                                    f"({mc}), got {mi}.")
    bt = config.get("ConnectionBorrowTimeout")
    if bt is not None and not 0 <= int(bt) <= 300:
        raise InvalidParameterValue(f"ConnectionBorrowTimeout must be between 0 and 300 seconds, got {bt}.")
    pins = config.get("SessionPinningFilters") or []
    if pins and proxy.engine_family != "MYSQL":
        raise InvalidParameterValue("SessionPinningFilters are supported only for the MYSQL engine family.")
    for p in pins:
        if p != "EXCLUDE_VARIABLE_SETS":
            raise InvalidParameterValue(f"SessionPinningFilters: '{p}' is not supported; use EXCLUDE_VARIABLE_SETS.")
    if mc is not None:
        tg.max_connections = int(mc)
        if mi is None:
            # the default idle share follows the new maximum (moto's rule, kept)
            tg.max_idle_connections = min(tg.max_idle_connections, int(mc))
    if mi is not None:
        tg.max_idle_connections = int(mi)
    if bt is not None:
        tg.borrow_timeout = int(bt)
    if "SessionPinningFilters" in config:
        tg.session_pinning_filters = list(config["SessionPinningFilters"] or [])
    if "InitQuery" in config:
        # ConnectionPoolConfiguration.InitQuery: "Add an initialization query, or modify
        # the current one. [...] This is an optional field, so you can choose to leave
        # it empty." An empty string removes it ("Default: no initialization query").
        tg.init_query = config["InitQuery"] or None
    tg.updated_date = utcnow()
    return tg


def _connection_pool_config(self):
    out = {"MaxConnectionsPercent": self.max_connections,
           "MaxIdleConnectionsPercent": self.max_idle_connections,
           "ConnectionBorrowTimeout": self.borrow_timeout,
           "SessionPinningFilters": list(self.session_pinning_filters)}
    if getattr(self, "init_query", None):
        out["InitQuery"] = self.init_query
    return out


def create_db_proxy_endpoint(self, db_proxy_name, db_proxy_endpoint_name, vpc_subnet_ids,
                             vpc_security_group_ids=None, target_role=None, tags=None,
                             endpoint_network_type=None):
    proxy = get_proxy(self, db_proxy_name)
    _require_available(proxy)
    _validate_name("DBProxyEndpointName", db_proxy_endpoint_name)
    name = db_proxy_endpoint_name.lower()
    eps = endpoints(self)
    if name in eps or name == "default":
        raise DBProxyEndpointAlreadyExistsFault(name)
    if sum(1 for e in eps.values() if e.db_proxy_name == proxy.db_proxy_name) >= ENDPOINTS_PER_PROXY:
        raise DBProxyEndpointQuotaExceededFault(proxy.db_proxy_name)
    if target_role not in (None, "READ_WRITE", "READ_ONLY"):
        raise InvalidParameterValue(f"TargetRole '{target_role}' is not valid; use READ_WRITE or READ_ONLY.")
    subnets, vpc_id = _subnets_and_vpc(self, vpc_subnet_ids, "CreateDBProxyEndpoint")
    final = "available"
    if vpc_security_group_ids:
        _own_security_groups(self, vpc_security_group_ids, vpc_id, "CreateDBProxyEndpoint")
        sgs = list(vpc_security_group_ids)
    else:
        # AWS falls back to the VPC's default group. In a shared VPC that group
        # belongs to the owner, which a participant can't use: the endpoint
        # never becomes usable.
        owner = subnets[0].owner_id
        ec2 = ec2_backends[owner][self.region_name]
        default = ec2.get_default_security_group(vpc_id)
        sgs = [default.id] if default else []
        if owner != self.account_id:
            final = "incompatible-network"
    ep = DBProxyEndpoint(self, proxy, name, vpc_subnet_ids, sgs, vpc_id, target_role,
                         endpoint_network_type, tags, final_status=final)
    eps[name] = ep
    return lifecycle.view(ep, "creating")


def _reap_endpoints(backend, eps):
    out = []
    for ep in eps:
        ep._kumo_lc.poll()
        if ep.status == "deleted":
            endpoints(backend).pop(ep.db_proxy_endpoint_name, None)
        else:
            out.append(ep)
    return out


def describe_db_proxy_endpoints(self, db_proxy_name=None, db_proxy_endpoint_name=None):
    proxy = get_proxy(self, db_proxy_name, include_deleting=True) if db_proxy_name else None
    eps = list(endpoints(self).values())
    if db_proxy_name:
        eps = [e for e in eps if e.db_proxy_name == proxy.db_proxy_name]
    if db_proxy_endpoint_name:
        eps = [e for e in eps if e.db_proxy_endpoint_name == db_proxy_endpoint_name.lower()]
        if not eps:
            raise DBProxyEndpointNotFoundFault(db_proxy_endpoint_name)
    eps = _reap_endpoints(self, eps)
    if db_proxy_endpoint_name and not eps:
        raise DBProxyEndpointNotFoundFault(db_proxy_endpoint_name)
    if not db_proxy_endpoint_name:
        proxies = [proxy] if proxy else list(self.db_proxies.values())
        eps = [DefaultEndpoint(p) for p in proxies] + eps
    return eps


def _get_endpoint(backend, name):
    ep = endpoints(backend).get((name or "").lower())
    if ep is None or ep.status == "deleted":
        raise DBProxyEndpointNotFoundFault(name)
    return ep


def modify_db_proxy_endpoint(self, db_proxy_endpoint_name, new_db_proxy_endpoint_name=None,
                             vpc_security_group_ids=None):
    ep = _get_endpoint(self, db_proxy_endpoint_name)
    if ep.status != "available":
        raise InvalidDBProxyEndpointStateFault(db_proxy_endpoint_name, ep.status)
    eps = endpoints(self)
    if new_db_proxy_endpoint_name and new_db_proxy_endpoint_name.lower() != ep.db_proxy_endpoint_name:
        _validate_name("NewDBProxyEndpointName", new_db_proxy_endpoint_name)
        new = new_db_proxy_endpoint_name.lower()
        if new in eps or new == "default":
            raise DBProxyEndpointAlreadyExistsFault(new)
        eps.pop(ep.db_proxy_endpoint_name)
        old = ep.db_proxy_endpoint_name
        ep.db_proxy_endpoint_name = new
        ep.endpoint = new + ep.endpoint[len(old):]
        eps[new] = ep
    if vpc_security_group_ids:
        _own_security_groups(self, vpc_security_group_ids, ep.vpc_id, "ModifyDBProxyEndpoint")
        ep.vpc_security_group_ids = list(vpc_security_group_ids)
    ep._kumo_lc.force("modifying")
    return ep


def delete_db_proxy_endpoint(self, db_proxy_endpoint_name):
    ep = _get_endpoint(self, db_proxy_endpoint_name)
    if ep.status in ("deleting", "creating", "modifying"):
        raise InvalidDBProxyEndpointStateFault(db_proxy_endpoint_name, ep.status)
    ep._kumo_lc.force("deleting")
    return lifecycle.view(ep, "deleting")


def _get_resource_for_tagging(self, arn):
    if ":db-proxy-endpoint:" in (arn or ""):
        for ep in endpoints(self).values():
            if ep.db_proxy_endpoint_arn == arn:
                return ep
        raise DBProxyEndpointNotFoundFault(arn.rsplit(":", 1)[-1])
    if ":db-proxy:" in (arn or ""):
        for p in list(self.db_proxies.values()):
            if p.arn == arn:
                return p
        raise DBProxyNotFoundFault(arn.rsplit(":", 1)[-1])
    return _ORIG["_get_resource_for_tagging"](self, arn)


# --- model patches --------------------------------------------------------
def _patch_models():
    DBProxy = rds_models.DBProxy
    DBProxyTarget = rds_models.DBProxyTarget
    orig_proxy_init = DBProxy.__init__

    def proxy_init(self, *a, **kw):
        orig_proxy_init(self, *a, **kw)
        self.__dict__["_kumo_lc"] = lifecycle.Lifecycle("proxy", "creating")

    def proxy_status_get(self):
        view = self.__dict__.get("_kumo_status_view")
        if view:
            return view
        lc = self.__dict__.get("_kumo_lc")
        return lc.status if lc else self.__dict__.get("_kumo_plain_status", "available")

    def proxy_status_set(self, value):
        lc = self.__dict__.get("_kumo_lc")
        if lc:
            lc.force(value)
        else:  # moto sets "available" inside __init__, before the lifecycle exists
            self.__dict__["_kumo_plain_status"] = value

    DBProxy.__init__ = proxy_init
    DBProxy.status = property(proxy_status_get, proxy_status_set)

    orig_target_init = DBProxyTarget.__init__

    def target_init(self, backend, resource_id, endpoint, type):
        orig_target_init(self, backend, resource_id, endpoint, type)
        self.__dict__["_kumo_lc"] = lifecycle.Lifecycle("target", "REGISTERING")
        self.__dict__["_kumo_backend"] = backend
        if type == "RDS_INSTANCE" and resource_id in backend.databases:
            db = backend.databases[resource_id]
            self.endpoint = db.address
            self.port = db.port
            self.target_arn = db.arn
            self.role = "READ_WRITE"
        if type == "TRACKED_CLUSTER":
            self.tracked_cluster_id = resource_id

    def target_health(self):
        lc = self.__dict__.get("_kumo_lc")
        if lc is None:
            return {"State": "AVAILABLE"}
        state = lc.status
        if state != "AVAILABLE" or self.type == "TRACKED_CLUSTER":
            return {"State": state} if self.type != "TRACKED_CLUSTER" else None
        # once registered, the health says whether the proxy could connect
        return health.target_health(self.__dict__["_kumo_backend"], self)

    DBProxyTarget.__init__ = target_init
    DBProxyTarget.target_health = property(target_health)


_ORIG = {}


def _patch_backend():
    B = rds_models.RDSBackend
    for name in ("create_db_proxy", "register_db_proxy_targets", "deregister_db_proxy_targets",
                 "modify_db_proxy_target_group", "_get_resource_for_tagging"):
        _ORIG[name] = getattr(B, name)
    for fn in (create_db_proxy, describe_db_proxies, modify_db_proxy, delete_db_proxy,
               register_db_proxy_targets, deregister_db_proxy_targets, describe_db_proxy_targets,
               describe_db_proxy_target_groups, modify_db_proxy_target_group,
               create_db_proxy_endpoint, describe_db_proxy_endpoints, modify_db_proxy_endpoint,
               delete_db_proxy_endpoint, _get_resource_for_tagging):
        setattr(B, fn.__name__, fn)
    rds_models.DBProxyTargetGroup.connection_pool_config = property(_connection_pool_config)


# --- response handlers (Action=CreateDBProxyEndpoint -> create_db_proxy_endpoint)
def r_create_db_proxy(self):
    p = self.params
    proxy = self.backend.create_db_proxy(
        db_proxy_name=p.get("DBProxyName"), engine_family=p.get("EngineFamily"),
        auth=p.get("Auth", []), role_arn=p.get("RoleArn"), vpc_subnet_ids=p.get("VpcSubnetIds", []),
        vpc_security_group_ids=p.get("VpcSecurityGroupIds"), require_tls=p.get("RequireTLS"),
        idle_client_timeout=p.get("IdleClientTimeout"), debug_logging=p.get("DebugLogging"),
        tags=p.get("Tags", []))
    return ActionResult({"DBProxy": lifecycle.view(proxy, "creating")})


def r_describe_db_proxies(self):
    proxies = self.backend.describe_db_proxies(db_proxy_name=self.params.get("DBProxyName"))
    return ActionResult({"DBProxies": proxies, "Marker": None})


def r_modify_db_proxy(self):
    p = self.params
    proxy = self.backend.modify_db_proxy(
        db_proxy_name=p.get("DBProxyName"), new_db_proxy_name=p.get("NewDBProxyName"),
        auth=p.get("Auth"), require_tls=p.get("RequireTLS"),
        idle_client_timeout=p.get("IdleClientTimeout"), debug_logging=p.get("DebugLogging"),
        role_arn=p.get("RoleArn"), security_groups=p.get("SecurityGroups"))
    return ActionResult({"DBProxy": proxy})


def r_describe_db_proxy_targets(self):
    targets = self.backend.describe_db_proxy_targets(
        proxy_name=self.params.get("DBProxyName"), target_group_name=self.params.get("TargetGroupName"))
    return ActionResult({"Targets": targets})


def r_deregister_db_proxy_targets(self):
    p = self.params
    self.backend.deregister_db_proxy_targets(
        db_proxy_name=p.get("DBProxyName"), target_group_name=p.get("TargetGroupName"),
        db_cluster_identifiers=p.get("DBClusterIdentifiers", []),
        db_instance_identifiers=p.get("DBInstanceIdentifiers", []))
    return EmptyResult()


def r_describe_db_proxy_target_groups(self):
    groups = self.backend.describe_db_proxy_target_groups(
        proxy_name=self.params.get("DBProxyName"), target_group_name=self.params.get("TargetGroupName"))
    return ActionResult({"TargetGroups": groups})


def r_modify_db_proxy_target_group(self):
    group = self.backend.modify_db_proxy_target_group(
        proxy_name=self.params.get("DBProxyName"), config=self.params.get("ConnectionPoolConfig", {}),
        target_group_name=self.params.get("TargetGroupName"))
    return ActionResult({"DBProxyTargetGroup": group})


def r_create_db_proxy_endpoint(self):
    p = self.params
    ep = self.backend.create_db_proxy_endpoint(
        db_proxy_name=p.get("DBProxyName"), db_proxy_endpoint_name=p.get("DBProxyEndpointName"),
        vpc_subnet_ids=p.get("VpcSubnetIds", []), vpc_security_group_ids=p.get("VpcSecurityGroupIds"),
        target_role=p.get("TargetRole"), tags=p.get("Tags", []),
        endpoint_network_type=p.get("EndpointNetworkType"))
    return ActionResult({"DBProxyEndpoint": ep})


def r_describe_db_proxy_endpoints(self):
    eps = self.backend.describe_db_proxy_endpoints(
        db_proxy_name=self.params.get("DBProxyName"),
        db_proxy_endpoint_name=self.params.get("DBProxyEndpointName"))
    return ActionResult({"DBProxyEndpoints": eps, "Marker": None})


def r_modify_db_proxy_endpoint(self):
    p = self.params
    ep = self.backend.modify_db_proxy_endpoint(
        db_proxy_endpoint_name=p.get("DBProxyEndpointName"),
        new_db_proxy_endpoint_name=p.get("NewDBProxyEndpointName"),
        vpc_security_group_ids=p.get("VpcSecurityGroupIds"))
    return ActionResult({"DBProxyEndpoint": ep})


def r_delete_db_proxy_endpoint(self):
    ep = self.backend.delete_db_proxy_endpoint(self.params.get("DBProxyEndpointName"))
    return ActionResult({"DBProxyEndpoint": ep})


def _patch_responses():
    R = rds_responses.RDSResponse
    for name, fn in dict(
        create_db_proxy=r_create_db_proxy,
        describe_db_proxies=r_describe_db_proxies,
        modify_db_proxy=r_modify_db_proxy,
        describe_db_proxy_targets=r_describe_db_proxy_targets,
        deregister_db_proxy_targets=r_deregister_db_proxy_targets,
        describe_db_proxy_target_groups=r_describe_db_proxy_target_groups,
        modify_db_proxy_target_group=r_modify_db_proxy_target_group,
        create_db_proxy_endpoint=r_create_db_proxy_endpoint,
        describe_db_proxy_endpoints=r_describe_db_proxy_endpoints,
        modify_db_proxy_endpoint=r_modify_db_proxy_endpoint,
        delete_db_proxy_endpoint=r_delete_db_proxy_endpoint,
    ).items():
        fn.__name__ = name
        setattr(R, name, fn)


def install():
    # AWS's default quota: 20 proxies per account and Region (moto's is 100)
    os.environ.setdefault("MOTO_RDS_PROXY_LIMIT", "20")
    _patch_models()
    _patch_backend()
    _patch_responses()
