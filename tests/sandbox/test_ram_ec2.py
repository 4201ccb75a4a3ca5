"""RAM and EC2 for VPC sharing, in the three organization modes: sharing
enabled (the seeded default), organization without RAM sharing, and no
organization (invitations for resource types that may leave the org)."""
import concurrent.futures
import unittest

import botocore

import util

SB = {}


def setUpModule():
    modes = {"org": {}, "no-sharing": {"org_sharing": False}, "no-org": {"org": False}}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        started = dict(zip(modes, pool.map(lambda kw: util.Sandbox(**kw).start(), modes.values())))
    SB.update(started)


def tearDownModule():
    for sb in SB.values():
        sb.stop()


def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "OK"


def share_subnets(sb, name, **kw):
    w = sb.world
    return sb.client("ram", "app").create_resource_share(
        name=name, principals=[w["accounts"]["rds"]], resourceArns=[s["arn"] for s in w["app"]["subnets"][:2]],
        **kw)["resourceShare"]


class OrganizationSharing(unittest.TestCase):
    def test_participant_sees_subnets_and_vpc_only_once_shared(self):
        sb = SB["org"]
        w = sb.world
        ec2r = sb.client("ec2", "rds")
        sid = w["app"]["subnets"][0]["id"]
        self.assertEqual(err(lambda: ec2r.describe_subnets(SubnetIds=[sid])), "InvalidSubnetID.NotFound")
        self.assertEqual(err(lambda: ec2r.describe_vpcs(VpcIds=[w["app"]["vpc_id"]])), "InvalidVpcID.NotFound")
        self.assertEqual(err(lambda: ec2r.create_security_group(GroupName="early", Description="x",
                                                                VpcId=w["app"]["vpc_id"])), "InvalidVpcID.NotFound")
        share = share_subnets(sb, "vis", allowExternalPrincipals=False, tags=[{"key": "team", "value": "orders"}])
        self.assertEqual(share["status"], "ACTIVE")
        ram_a, ram_r = sb.client("ram", "app"), sb.client("ram", "rds")
        assoc = ram_a.get_resource_share_associations(associationType="PRINCIPAL",
                                                      resourceShareArns=[share["resourceShareArn"]])
        a = assoc["resourceShareAssociations"][0]
        self.assertEqual((a["associatedEntity"], a["status"], a["external"]),
                         (w["accounts"]["rds"], "ASSOCIATED", False))
        self.assertEqual(ram_r.get_resource_share_invitations()["resourceShareInvitations"], [])
        subs = ec2r.describe_subnets(SubnetIds=[sid])["Subnets"]
        self.assertEqual((subs[0]["OwnerId"], subs[0]["VpcId"]), (w["accounts"]["app"], w["app"]["vpc_id"]))
        vpc = ec2r.describe_vpcs(VpcIds=[w["app"]["vpc_id"]])["Vpcs"][0]
        self.assertEqual(vpc["OwnerId"], w["accounts"]["app"])
        others = ram_r.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
        self.assertEqual([s["name"] for s in others], ["vis"])
        res = ram_r.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="ec2:Subnet")["resources"]
        self.assertEqual(sorted(r["arn"] for r in res), sorted(s["arn"] for s in w["app"]["subnets"][:2]))
        by_tag = ram_a.get_resource_shares(resourceOwner="SELF",
                                           tagFilters=[{"tagKey": "team", "tagValues": ["orders"]}])
        self.assertEqual([s["name"] for s in by_tag["resourceShares"]], ["vis"])
        self.assertEqual(ram_a.get_resource_shares(resourceOwner="SELF", name="other")["resourceShares"], [])
        # unsharing: gone for the participant
        ram_a.delete_resource_share(resourceShareArn=share["resourceShareArn"])
        self.assertEqual(err(lambda: ec2r.describe_subnets(SubnetIds=[sid])), "InvalidSubnetID.NotFound")
        assoc = ram_a.get_resource_share_associations(associationType="PRINCIPAL",
                                                      resourceShareArns=[share["resourceShareArn"]])
        self.assertEqual(assoc["resourceShareAssociations"][0]["status"], "DISASSOCIATED")

    def test_security_groups_in_the_shared_vpc(self):
        sb = SB["org"]
        w = sb.world
        share_subnets(sb, "sgs", allowExternalPrincipals=False)
        ec2r, ec2a = sb.client("ec2", "rds"), sb.client("ec2", "app")
        ep_sg = ec2r.create_security_group(GroupName="ep", Description="x", VpcId=w["app"]["vpc_id"])["GroupId"]
        # account/sg-id: UserIdGroupPair{UserId, GroupId}
        ec2r.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"UserId": w["accounts"]["app"], "GroupId": w["app"]["security_group_id"]}]}])
        # a bare id of the owner's group in the same VPC resolves too
        ec2r.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
            "UserIdGroupPairs": [{"GroupId": w["app"]["security_group_id"]}]}])
        perms = ec2r.describe_security_groups(GroupIds=[ep_sg])["SecurityGroups"][0]["IpPermissions"]
        pairs = {(p["FromPort"], g["UserId"], g["GroupId"]) for p in perms for g in p["UserIdGroupPairs"]}
        self.assertEqual(pairs, {(5432, w["accounts"]["app"], w["app"]["security_group_id"]),
                                 (3306, w["accounts"]["app"], w["app"]["security_group_id"])})
        self.assertEqual(err(lambda: ec2r.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
            "UserIdGroupPairs": [{"UserId": w["accounts"]["app"], "GroupId": "sg-0123456789abcdef0"}]}])),
            "InvalidGroup.NotFound")
        # the owner can't delete its group while the participant's group references it
        scratch = ec2a.create_security_group(GroupName="ref", Description="x", VpcId=w["app"]["vpc_id"])["GroupId"]
        ec2r.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 9, "ToPort": 9,
            "UserIdGroupPairs": [{"UserId": w["accounts"]["app"], "GroupId": scratch}]}])
        self.assertEqual(err(lambda: ec2a.delete_security_group(GroupId=scratch)), "DependencyViolation")

    def test_associate_and_disassociate(self):
        sb = SB["org"]
        w = sb.world
        ram_a, ec2r = sb.client("ram", "app"), sb.client("ec2", "rds")
        a, b, c = w["app"]["subnets"]
        share = ram_a.create_resource_share(name="assoc", resourceArns=[a["arn"]],
                                            allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
        self.addCleanup(lambda: ram_a.delete_resource_share(resourceShareArn=share))
        self.assertEqual(err(lambda: ec2r.describe_subnets(SubnetIds=[a["id"]])), "InvalidSubnetID.NotFound")
        out = ram_a.associate_resource_share(resourceShareArn=share, resourceArns=[b["arn"]],
                                             principals=[w["accounts"]["rds"]])
        self.assertEqual(sorted((x["associationType"], x["status"]) for x in out["resourceShareAssociations"]),
                         [("PRINCIPAL", "ASSOCIATING"), ("RESOURCE", "ASSOCIATING")])
        self.assertEqual(sorted(s["SubnetId"] for s in ec2r.describe_subnets(SubnetIds=[a["id"], b["id"]])
                                ["Subnets"]), sorted([a["id"], b["id"]]))
        ram_a.disassociate_resource_share(resourceShareArn=share, resourceArns=[a["arn"]])
        self.assertEqual(err(lambda: ec2r.describe_subnets(SubnetIds=[a["id"]])), "InvalidSubnetID.NotFound")
        res = ram_a.get_resource_share_associations(associationType="RESOURCE", resourceShareArns=[share])
        self.assertEqual(sorted((x["associatedEntity"], x["status"]) for x in res["resourceShareAssociations"]),
                         sorted([(a["arn"], "DISASSOCIATED"), (b["arn"], "ASSOCIATED")]))
        self.assertEqual(err(lambda: ram_a.associate_resource_share(resourceShareArn=share,
                                                                    principals=["999999999999"])),
                         "OperationNotPermittedException")
        self.assertEqual(err(lambda: ram_a.associate_resource_share(resourceShareArn=share + "0",
                                                                    resourceArns=[c["arn"]])),
                         "UnknownResourceException")

    def test_sharing_rules(self):
        sb = SB["org"]
        w = sb.world
        ram_r, ram_a = sb.client("ram", "rds"), sb.client("ram", "app")
        # RDS can't share APP's subnet
        self.assertEqual(err(lambda: ram_r.create_resource_share(
            name="x", principals=[w["accounts"]["app"]], resourceArns=[w["app"]["subnets"][0]["arn"]])),
            "OperationNotPermittedException")
        bogus = w["app"]["subnets"][0]["arn"].rsplit("/", 1)[0] + "/subnet-0123456789abcdef0"
        self.assertEqual(err(lambda: ram_a.create_resource_share(name="x", principals=[w["accounts"]["rds"]],
                                                                 resourceArns=[bogus])), "UnknownResourceException")
        # only the management account enables sharing with the organization
        self.assertEqual(err(lambda: ram_a.enable_sharing_with_aws_organization()), "OperationNotPermittedException")
        # subnets can't go outside the organization
        self.assertEqual(err(lambda: ram_a.create_resource_share(
            name="x", principals=["999999999999"], resourceArns=[w["app"]["subnets"][0]["arn"]])),
            "OperationNotPermittedException")


class NoOrganizationSharing(unittest.TestCase):
    def test_subnets_need_sharing_enabled_by_the_management_account(self):
        sb = SB["no-sharing"]
        self.assertEqual(sb.world["organization_mode"], "sharing-disabled")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            share_subnets(sb, "early", allowExternalPrincipals=False)
        self.assertEqual(cm.exception.response["Error"]["Code"], "OperationNotPermittedException")
        self.assertIn("can only be shared within your AWS Organization", str(cm.exception))
        self.assertTrue(sb.client("ram", "base").enable_sharing_with_aws_organization()["returnValue"])
        share = share_subnets(sb, "later", allowExternalPrincipals=False)
        assoc = sb.client("ram", "app").get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[share["resourceShareArn"]])["resourceShareAssociations"]
        self.assertEqual(assoc[0]["status"], "ASSOCIATED")


class NoOrganization(unittest.TestCase):
    def test_no_organization_at_all(self):
        sb = SB["no-org"]
        self.assertEqual(err(lambda: sb.client("organizations", "app").describe_organization()),
                         "AWSOrganizationsNotInUseException")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            share_subnets(sb, "x", allowExternalPrincipals=True)
        self.assertEqual(cm.exception.response["Error"]["Code"], "OperationNotPermittedException")

    def test_invitations_outside_an_organization(self):
        sb = SB["no-org"]
        w = sb.world
        pl = sb.client("ec2", "app").create_managed_prefix_list(PrefixListName="apps", MaxEntries=5,
                                                                AddressFamily="IPv4")["PrefixList"]
        ram_a, ram_r = sb.client("ram", "app"), sb.client("ram", "rds")
        self.assertEqual(err(lambda: ram_a.create_resource_share(
            name="closed", principals=[w["accounts"]["rds"]], resourceArns=[pl["PrefixListArn"]],
            allowExternalPrincipals=False)), "OperationNotPermittedException")
        share = ram_a.create_resource_share(name="pl", principals=[w["accounts"]["rds"]],
                                            resourceArns=[pl["PrefixListArn"]])["resourceShare"]
        a = ram_a.get_resource_share_associations(associationType="PRINCIPAL",
                                                  resourceShareArns=[share["resourceShareArn"]])
        a = a["resourceShareAssociations"][0]
        self.assertEqual((a["status"], a["external"]), ("ASSOCIATING", True))
        invs = ram_r.get_resource_share_invitations(resourceShareArns=[share["resourceShareArn"]])
        inv = invs["resourceShareInvitations"][0]
        self.assertEqual((inv["status"], inv["senderAccountId"], inv["receiverAccountId"]),
                         ("PENDING", w["accounts"]["app"], w["accounts"]["rds"]))
        self.assertEqual(ram_r.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"], [])
        out = ram_r.accept_resource_share_invitation(resourceShareInvitationArn=inv["resourceShareInvitationArn"])
        self.assertEqual(out["resourceShareInvitation"]["status"], "ACCEPTED")
        self.assertEqual(err(lambda: ram_r.accept_resource_share_invitation(
            resourceShareInvitationArn=inv["resourceShareInvitationArn"])),
            "ResourceShareInvitationAlreadyAcceptedException")
        self.assertEqual(err(lambda: ram_r.reject_resource_share_invitation(
            resourceShareInvitationArn=inv["resourceShareInvitationArn"].replace("-invitation/", "-invitation/0"))),
            "ResourceShareInvitationArnNotFoundException")
        a = ram_a.get_resource_share_associations(associationType="PRINCIPAL",
                                                  resourceShareArns=[share["resourceShareArn"]])
        self.assertEqual(a["resourceShareAssociations"][0]["status"], "ASSOCIATED")
        res = ram_r.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]
        self.assertEqual([(r["arn"], r["type"]) for r in res], [(pl["PrefixListArn"], "ec2:PrefixList")])
        # the APP account can't see another invitation meant for RDS
        self.assertEqual(ram_a.get_resource_share_invitations()["resourceShareInvitations"], [])
