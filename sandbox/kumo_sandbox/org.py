"""Organization membership of accounts, and RAM sharing with the organization.

moto's Organizations creates member accounts with random ids only; the seed
creates the organization through moto and gives the members fixed ids (see
`create`). Membership is then moto's own (`DescribeOrganization` works from
every member), and RAM asks this module whether two accounts share one.
"""
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends


def management_account(account_id: str):
    """The management account of `account_id`'s organization, or None."""
    backend = organizations_backends[account_id]["aws"]
    if backend.org:
        return account_id
    entry = organizations_backends.master_accounts.get(account_id)
    return entry[0] if entry else None


def same_org(a: str, b: str) -> bool:
    ma = management_account(a)
    return ma is not None and ma == management_account(b)


def organization_arn(account_id: str):
    mgmt = management_account(account_id)
    return organizations_backends[mgmt]["aws"].org.arn if mgmt else None


def sharing_enabled(account_id: str) -> bool:
    """Has the management account of `account_id`'s organization enabled RAM
    sharing with the organization? (kept on the organization's backend, so a
    reset clears it with the organization)."""
    mgmt = management_account(account_id)
    return bool(mgmt and organizations_backends[mgmt]["aws"].__dict__.get("_kumo_ram_sharing"))


def enable_sharing(account_id: str) -> bool:
    """EnableSharingWithAwsOrganization: only the management account may."""
    backend = organizations_backends[account_id]["aws"]
    if not backend.org:
        return False
    backend.__dict__["_kumo_ram_sharing"] = True
    # AWS turns on trusted access for RAM with it, which the management
    # account reads with ListAWSServiceAccessForOrganization
    backend.enable_aws_service_access(ServicePrincipal="ram.amazonaws.com")
    return True


def create(management: str, members: dict, region: str = "us-east-1", sharing: bool = True):
    """Create an organization owned by `management` with the member accounts
    {account_id: name}, with the given (fixed) ids."""
    backend = organizations_backends[management]["aws"]
    backend.create_organization(region=region, FeatureSet="ALL")
    orig = org_utils.make_random_account_id
    try:
        for account_id, name in members.items():
            org_utils.make_random_account_id = lambda a=account_id: a
            backend.create_account(AccountName=name, Email=f"{name}@example.com")
    finally:
        org_utils.make_random_account_id = orig
    if sharing:
        enable_sharing(management)
    return backend.org


def add_unit(management: str, name: str, parent_id: str = None) -> str:
    """Create an organizational unit `name` under `parent_id` (default the
    root) in `management`'s organization; return its id."""
    backend = organizations_backends[management]["aws"]
    parent = parent_id or backend.org.root_id
    ou = backend.create_organizational_unit(Name=name, ParentId=parent)
    return ou["OrganizationalUnit"]["Id"]


def add_members(management: str, members: list, parent_id: str):
    """Add member accounts with fixed ids to `management`'s organization and
    move them to `parent_id`: `members` is a list of (account_id, name, tags)."""
    backend = organizations_backends[management]["aws"]
    orig = org_utils.make_random_account_id
    try:
        for account_id, name, tags in members:
            org_utils.make_random_account_id = lambda a=account_id: a
            backend.create_account(AccountName=name, Email=f"{name}@example.com",
                                   Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            backend.move_account(AccountId=account_id, SourceParentId=backend.org.root_id,
                                 DestinationParentId=parent_id)
    finally:
        org_utils.make_random_account_id = orig
