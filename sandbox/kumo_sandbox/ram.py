"""RAM: AWS's organization rule for subnets, invitations, the participant's
views (GetResourceShares / ListResources with resourceOwner=OTHER-ACCOUNTS),
Associate/DisassociateResourceShare, association status, tags and filters.

Rules (AWS): a subnet can be shared only inside the owner's organization,
and only once the management account has enabled sharing with the
organization; the principal is then associated at once, with no invitation.
Other resource types shared with an account outside the organization (when
the share allows external principals) wait for the receiver to accept an
invitation.
"""
import json
import re
from urllib.parse import parse_qs

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time, utcnow
from moto.ec2.models import ec2_backends
from moto.moto_api._internal import mock_random as random
import moto.ram.models as ram_models
import moto.ram.responses as ram_responses
import moto.ram.urls as ram_urls

from . import org

ORG_ONLY = ("The resource you are attempting to share can only be shared within your AWS Organization. "
            "This error may also occur if you have not enabled sharing with your AWS organization, "
            "or that onboarding process is still in progress.")


class RAMError(JsonRESTError):
    def __init__(self, error_type, message, status=400):
        super().__init__(error_type, message)
        self.code = status


def _is_account(p):
    return bool(re.fullmatch(r"\d{12}", p))


def _pstatus(share):
    return share.__dict__.setdefault("_kumo_pstatus", {})


def _invitations(share):
    return share.__dict__.setdefault("_kumo_invitations", {})


def all_shares():
    for _acct, _region, backend in list(ram_models.ram_backends.iter_backends()):
        for share in list(backend.resource_shares):
            yield share


def _principal_matches(share, account_id):
    """Is `account_id` a principal of `share` with an ASSOCIATED status?"""
    if share.account_id == account_id:
        return False
    if account_id in share.principals:
        return _pstatus(share).get(account_id) == "ASSOCIATED"
    arn = org.organization_arn(share.account_id)
    return (arn is not None and arn in share.principals and org.same_org(share.account_id, account_id)
            and org.sharing_enabled(share.account_id))


def shares_for_principal(account_id, region):
    """The ACTIVE shares of other accounts that `account_id` may use."""
    for share in all_shares():
        if share.region == region and share.status == "ACTIVE" and _principal_matches(share, account_id):
            yield share


def shared_subnet_ids(account_id, region):
    """{(owner, subnet_id)} shared with `account_id` through RAM."""
    out = set()
    for share in shares_for_principal(account_id, region):
        for arn in share.resource_arns:
            m = re.match(r"arn:aws[\w-]*:ec2:([\w-]+):(\d{12}):subnet/(subnet-\w+)$", arn)
            if m and m.group(1) == region:
                out.add((m.group(2), m.group(3)))
    return out


def _resource_type(arn):
    m = re.match(r"arn:aws[\w-]*:([a-z0-9-]+):[a-z0-9-]*:\d{12}:([a-z-]+)[/:]", arn)
    return (m.group(1), m.group(2)) if m else (None, None)


def _check_resources(backend, arns):
    for arn in arns:
        service, rtype = _resource_type(arn)
        if service == "ec2" and rtype == "subnet":
            parts = arn.split(":")
            if parts[4] != backend.account_id:
                raise RAMError("OperationNotPermittedException",
                               f"{arn} is owned by account {parts[4]}; you can share only resources you own.")
            ec2 = ec2_backends[backend.account_id][parts[3]]
            if not any(arn.endswith("/" + sid) for zone in ec2.subnets.values() for sid in zone):
                raise RAMError("UnknownResourceException", f"Resource {arn} could not be found.")


def _plan_principals(backend, principals, has_subnet, external_ok):
    """{principal: ASSOCIATED | ASSOCIATING} under AWS's rules, or raise."""
    plan = {}
    for p in principals:
        if not _is_account(p) or p == backend.account_id:
            if has_subnet and p.startswith("arn:") and ":organization/" in p \
                    and not org.sharing_enabled(backend.account_id):
                raise RAMError("OperationNotPermittedException", ORG_ONLY)
            plan[p] = "ASSOCIATED"
            continue
        inside = org.same_org(backend.account_id, p)
        if has_subnet and not (inside and org.sharing_enabled(backend.account_id)):
            raise RAMError("OperationNotPermittedException", ORG_ONLY)
        if inside and org.sharing_enabled(backend.account_id):
            plan[p] = "ASSOCIATED"
        elif not external_ok and not inside:
            raise RAMError("OperationNotPermittedException",
                           f"Principal {p} is outside your organization and the resource share "
                           "doesn't allow external principals.")
        else:
            plan[p] = "ASSOCIATING"
    return plan


def _has_subnet(arns):
    return any(_resource_type(a) == ("ec2", "subnet") for a in arns)


def _apply_plan(backend, share, plan):
    for p, status in plan.items():
        _pstatus(share)[p] = status
        _gone(share).pop(("PRINCIPAL", p), None)
        if status == "ASSOCIATING":
            _invitations(share)[p] = {
                "resourceShareInvitationArn": (f"arn:{backend.partition}:ram:{backend.region_name}:"
                                               f"{backend.account_id}:resource-share-invitation/{random.uuid4()}"),
                "resourceShareName": share.name,
                "resourceShareArn": share.arn,
                "senderAccountId": backend.account_id,
                "receiverAccountId": p,
                "invitationTimestamp": unix_time(utcnow()),
                "status": "PENDING",
            }


def _gone(share):
    """Associations removed by DisassociateResourceShare: listed as DISASSOCIATED."""
    return share.__dict__.setdefault("_kumo_gone", {})


def create_resource_share(self, **kwargs):
    principals = list(kwargs.get("principals") or [])
    resources = list(kwargs.get("resourceArns") or [])
    _check_resources(self, resources)
    plan = _plan_principals(self, principals, _has_subnet(resources), kwargs.get("allowExternalPrincipals", True))
    result = _ORIG["create_resource_share"](self, **kwargs)
    share = self.resource_shares[-1]
    share.__dict__["_kumo_tags"] = [{"key": t.get("key"), "value": t.get("value")}
                                    for t in (kwargs.get("tags") or [])]
    _apply_plan(self, share, plan)
    result["resourceShare"]["tags"] = share.__dict__["_kumo_tags"]
    return result


def _own_share(backend, arn):
    for share in backend.resource_shares:
        if share.arn == arn:
            if share.status != "ACTIVE":
                raise RAMError("UnknownResourceException", f"ResourceShare {arn} is {share.status}.")
            return share
    raise RAMError("UnknownResourceException", f"ResourceShare {arn} could not be found.")


def _association(share, kind, entity, status):
    return {"resourceShareArn": share.arn, "resourceShareName": share.name, "associatedEntity": entity,
            "associationType": kind, "status": status, "creationTime": unix_time(utcnow()),
            "lastUpdatedTime": unix_time(utcnow()), "external": False}


def associate_resource_share(self, arn, resource_arns=None, principals=None):
    share = _own_share(self, arn)
    resource_arns = [r for r in (resource_arns or []) if r not in share.resource_arns]
    principals = [p for p in (principals or []) if p not in share.principals]
    _check_resources(self, resource_arns)
    has_subnet = _has_subnet(list(share.resource_arns) + resource_arns)
    plan = _plan_principals(self, principals, has_subnet, share.allow_external_principals)
    if resource_arns and has_subnet:  # subnets added to a share: every principal must qualify
        _plan_principals(self, [p for p in share.principals if _is_account(p)], True, True)
    share.add_resources(resource_arns)
    share.add_principals(principals)
    _apply_plan(self, share, plan)
    for r in resource_arns:
        _gone(share).pop(("RESOURCE", r), None)
    share.last_updated_time = utcnow()
    return [_association(share, "RESOURCE", r, "ASSOCIATING") for r in resource_arns] + \
        [_association(share, "PRINCIPAL", p, "ASSOCIATING") for p in principals]


def disassociate_resource_share(self, arn, resource_arns=None, principals=None):
    share = _own_share(self, arn)
    out = []
    for r in resource_arns or []:
        if r in share.resource_arns:
            share.resource_arns.remove(r)
            _gone(share)[("RESOURCE", r)] = unix_time(utcnow())
            out.append(_association(share, "RESOURCE", r, "DISASSOCIATING"))
    for p in principals or []:
        if p in share.principals:
            share.principals.remove(p)
            _pstatus(share).pop(p, None)
            _invitations(share).pop(p, None)
            _gone(share)[("PRINCIPAL", p)] = unix_time(utcnow())
            out.append(_association(share, "PRINCIPAL", p, "DISASSOCIATING"))
    share.last_updated_time = utcnow()
    return out


def enable_sharing_with_aws_organization(self):
    if not org.enable_sharing(self.account_id):
        raise RAMError("OperationNotPermittedException",
                       "EnableSharingWithAwsOrganization must be called from the management account "
                       "of an organization.")
    return {"returnValue": True}


def _invitations_for(backend):
    for share in all_shares():
        if share.region != backend.region_name:
            continue
        inv = _invitations(share).get(backend.account_id)
        if inv:
            yield share, inv


def get_resource_share_invitations(self, invitation_arns=None, share_arns=None):
    out = []
    for share, inv in _invitations_for(self):
        if invitation_arns and inv["resourceShareInvitationArn"] not in invitation_arns:
            continue
        if share_arns and share.arn not in share_arns:
            continue
        out.append(dict(inv))
    if invitation_arns and not out:
        raise RAMError("ResourceShareInvitationArnNotFoundException",
                       f"ResourceShareInvitationArn {invitation_arns[0]} could not be found.")
    return out


def answer_invitation(self, invitation_arn, accept):
    for share, inv in _invitations_for(self):
        if inv["resourceShareInvitationArn"] != invitation_arn:
            continue
        if inv["status"] == "ACCEPTED":
            raise RAMError("ResourceShareInvitationAlreadyAcceptedException",
                           f"The invitation {invitation_arn} has already been accepted.")
        if inv["status"] == "REJECTED":
            raise RAMError("ResourceShareInvitationAlreadyRejectedException",
                           f"The invitation {invitation_arn} has already been rejected.")
        inv["status"] = "ACCEPTED" if accept else "REJECTED"
        _pstatus(share)[self.account_id] = "ASSOCIATED" if accept else "DISASSOCIATED"
        return dict(inv)
    raise RAMError("ResourceShareInvitationArnNotFoundException",
                   f"ResourceShareInvitationArn {invitation_arn} could not be found.")


def get_resource_share_associations(self, association_type, association_status, resource_share_arns,
                                    resource_arn, principal):
    res = _ORIG["get_resource_share_associations"](self, association_type, None, resource_share_arns,
                                                   resource_arn, principal)
    shares = {s.arn: s for s in self.resource_shares}
    out = []
    for a in res["resourceShareAssociations"]:
        share = shares.get(a["resourceShareArn"])
        if share is not None and share.status == "DELETED":
            a["status"] = "DISASSOCIATED"
        elif a["associationType"] == "PRINCIPAL" and share is not None:
            a["status"] = _pstatus(share).get(a["associatedEntity"], "ASSOCIATED")
            a["external"] = _is_account(a["associatedEntity"]) and \
                not org.same_org(self.account_id, a["associatedEntity"])
        if association_status and a["status"] != association_status:
            continue
        out.append(a)
    for share in self.resource_shares:
        if resource_share_arns and share.arn not in resource_share_arns:
            continue
        for (kind, entity), when in _gone(share).items():
            if kind != association_type or (association_status and association_status != "DISASSOCIATED"):
                continue
            if (resource_arn and entity != resource_arn) or (principal and entity != principal):
                continue
            a = _association(share, kind, entity, "DISASSOCIATED")
            a["lastUpdatedTime"] = when
            out.append(a)
    return {"resourceShareAssociations": out}


def _describe(share):
    d = share.describe()
    d["tags"] = share.__dict__.get("_kumo_tags", [])
    return d


def get_resource_shares(self, resource_owner, name=None, share_arns=None, status=None, tag_filters=None):
    if resource_owner == "OTHER-ACCOUNTS":
        shares = list(shares_for_principal(self.account_id, self.region_name))
    elif resource_owner == "SELF":
        shares = list(self.resource_shares)
    else:
        raise RAMError("InvalidParameterException",
                       f"{resource_owner} is not a valid resource owner. Specify either SELF or "
                       "OTHER-ACCOUNTS and try again.")
    out = []
    for s in shares:
        if name and s.name != name:
            continue
        if share_arns and s.arn not in share_arns:
            continue
        if status and s.status != status:
            continue
        tags = {t["key"]: t["value"] for t in s.__dict__.get("_kumo_tags", [])}
        if tag_filters and not all(f.get("tagKey") in tags and
                                   (not f.get("tagValues") or tags[f["tagKey"]] in f["tagValues"])
                                   for f in tag_filters):
            continue
        out.append(_describe(s))
    return {"resourceShares": out}


def list_resources(self, resource_owner, resource_type=None, resource_share_arns=None):
    if resource_owner == "SELF":
        shares = [s for s in self.resource_shares if s.status == "ACTIVE"]
    elif resource_owner == "OTHER-ACCOUNTS":
        shares = list(shares_for_principal(self.account_id, self.region_name))
    else:
        raise RAMError("InvalidParameterException", f"{resource_owner} is not a valid resource owner.")
    out = []
    for s in shares:
        if resource_share_arns and s.arn not in resource_share_arns:
            continue
        for arn in s.resource_arns:
            service, rtype = _resource_type(arn)
            type_name = f"{service}:{rtype.title().replace('-', '')}" if service else "unknown"
            if resource_type and type_name.lower() != resource_type.lower():
                continue
            out.append({"arn": arn, "type": type_name, "resourceShareArn": s.arn,
                        "status": "AVAILABLE", "resourceRegionScope": "REGIONAL",
                        "creationTime": unix_time(s.creation_time),
                        "lastUpdatedTime": unix_time(s.last_updated_time)})
    return {"resources": out}


_ORIG = {}


# --- responses (rest-json; moto's handlers return a JSON string) ------------
def r_get_resource_shares(self):
    return json.dumps(self.ram_backend.get_resource_shares(
        self._get_param("resourceOwner"), self._get_param("name"), self._get_param("resourceShareArns"),
        self._get_param("resourceShareStatus"), self._get_param("tagFilters")))


def r_get_invitations(self):
    return json.dumps({"resourceShareInvitations": self.ram_backend.get_resource_share_invitations(
        self._get_param("resourceShareInvitationArns"), self._get_param("resourceShareArns"))})


def r_accept(self):
    inv = self.ram_backend.answer_invitation(self._get_param("resourceShareInvitationArn"), True)
    return json.dumps({"resourceShareInvitation": inv, "clientToken": self._get_param("clientToken")})


def r_reject(self):
    inv = self.ram_backend.answer_invitation(self._get_param("resourceShareInvitationArn"), False)
    return json.dumps({"resourceShareInvitation": inv, "clientToken": self._get_param("clientToken")})


def r_associate(self):
    out = self.ram_backend.associate_resource_share(
        self._get_param("resourceShareArn"), self._get_param("resourceArns"), self._get_param("principals"))
    return json.dumps({"resourceShareAssociations": out, "clientToken": self._get_param("clientToken")})


def r_disassociate(self):
    out = self.ram_backend.disassociate_resource_share(
        self._get_param("resourceShareArn"), self._get_param("resourceArns"), self._get_param("principals"))
    return json.dumps({"resourceShareAssociations": out, "clientToken": self._get_param("clientToken")})


def r_list_resources(self):
    return json.dumps(self.ram_backend.list_resources(
        self._get_param("resourceOwner"), self._get_param("resourceType"),
        self._get_param("resourceShareArns")))


IDEMPOTENT_OPS = ("create_resource_share", "associate_resource_share", "disassociate_resource_share",
                  "delete_resource_share", "update_resource_share")


def _idempotent(fn, op):
    """clientToken, as the RAM API reference has it: "Passing the same value to a
    later call to an operation requires that you also pass the same value for all
    other parameters. [...] If you retry the operation with the same ClientToken,
    but with different parameters, the retry fails with an IdempotentParameterMismatch
    error." A repeat gets the first answer (no second share); moto ignores the token.
    Tokens are kept per account and region, per operation."""
    def wrapper(self):
        params = dict(self.request_params) if self.body else {}
        # DeleteResourceShare sends them in the URI (moto's querystring may hold the
        # headers instead, which differ on every retry)
        for k, v in parse_qs(self.parsed_url.query, keep_blank_values=True).items():
            params.setdefault(k, v[0] if len(v) == 1 else v)
        token = params.pop("clientToken", None)
        if not token:
            return fn(self)
        if not isinstance(token, str) or not 1 <= len(token) <= 64:
            raise RAMError("InvalidClientTokenException",
                           "clientToken must be a string of 1 to 64 characters (a UUID is recommended).")
        seen = self.ram_backend.__dict__.setdefault("_kumo_tokens", {})
        fingerprint = json.dumps(params, sort_keys=True, default=str)
        if (op, token) in seen:
            first, answer = seen[(op, token)]
            if first != fingerprint:
                raise RAMError("IdempotentParameterMismatchException",
                               f"The client token {token} was used with {_op_name(op)} before with other "
                               "parameters; send the same parameters with it, or use a new token.")
            return answer
        answer = fn(self)
        body = answer[0] if isinstance(answer, tuple) else answer
        if isinstance(body, str):
            try:
                data = json.loads(body)
                if isinstance(data, dict):
                    data["clientToken"] = token
                    body = json.dumps(data)
                    answer = (body,) + tuple(answer[1:]) if isinstance(answer, tuple) else body
            except ValueError:
                pass
        seen[(op, token)] = (fingerprint, answer)
        return answer
    wrapper.__name__ = op
    return wrapper


def _op_name(op):
    return "".join(w.title() for w in op.split("_"))


def _json_content_type(fn):
    """moto returns bare strings, which Flask labels text/html."""
    def wrapper(self):
        out = fn(self)
        return (out, {"Content-Type": "application/json"}) if isinstance(out, str) else out
    wrapper.__name__ = fn.__name__
    return wrapper


def install():
    B = ram_models.ResourceAccessManagerBackend
    for name in ("create_resource_share", "get_resource_share_associations"):
        _ORIG[name] = getattr(B, name)
    for fn in (create_resource_share, enable_sharing_with_aws_organization, get_resource_share_invitations,
               answer_invitation, get_resource_share_associations, get_resource_shares, list_resources,
               associate_resource_share, disassociate_resource_share):
        setattr(B, fn.__name__, fn)
    R = ram_responses.ResourceAccessManagerResponse
    r_get_resource_shares.__name__ = "get_resource_shares"
    R.get_resource_shares = r_get_resource_shares
    for name in ("create_resource_share", "get_resource_shares", "update_resource_share",
                 "delete_resource_share", "enable_sharing_with_aws_organization",
                 "get_resource_share_associations", "list_resource_types", "list_permissions"):
        setattr(R, name, _json_content_type(getattr(R, name)))
    for name, fn in dict(get_resource_share_invitations=r_get_invitations,
                         accept_resource_share_invitation=r_accept,
                         reject_resource_share_invitation=r_reject,
                         associate_resource_share=r_associate,
                         disassociate_resource_share=r_disassociate,
                         list_resources=r_list_resources).items():
        fn.__name__ = name
        setattr(R, name, _json_content_type(fn))
    for name in IDEMPOTENT_OPS:
        setattr(R, name, _idempotent(getattr(R, name), name))
    # The RAM Flask app reads these routes once, on the first RAM request.
    for path in ("getresourceshareinvitations", "acceptresourceshareinvitation",
                 "rejectresourceshareinvitation", "listresources", "associateresourceshare",
                 "disassociateresourceshare"):
        ram_urls.url_paths["{0}/" + path + "$"] = R.dispatch
