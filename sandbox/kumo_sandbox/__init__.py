"""kumo_sandbox: a local two-account AWS cloud on moto 5, extended in-process.

moto serves the services; the modules of this package patch what the
cross-account RDS Proxy workflow needs and moto lacks (see docs/sandbox.md):

  server     the WSGI stack, keep-alive, loopback-only serving
  gateway    outermost middleware: raw request capture, control routes, stats, faults
  auth       SigV4 + IAM always on; moto's two SigV4 bugs; trust policies, ExternalId
  lifecycle  status lifecycles (creating -> available after N polls or seconds)
  rds_proxy  DB proxy endpoints, proxy/target lifecycles, modeled errors
  rds_db     DB instance lifecycle (creating, deleting that takes time)
  ram        invitations, organization rule for subnets, OTHER-ACCOUNTS views
  ec2        RAM-shared subnets and VPCs visible to participants, cross-account SG refs
  org        organization membership of the seeded accounts
  faults     fault and latency rules
  stats      request statistics per account and operation
  seed       the seeded world;  profiles: the files written for users
"""

__version__ = "1.0"
