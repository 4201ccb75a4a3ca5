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
  ec2        RAM-shared subnets and VPCs visible to participants, cross-account SG refs,
             SG rules matched as AWS does, referenced groups can't be deleted
  secrets_manager  CreateSecret on a name scheduled for deletion
  org        organization membership of the seeded accounts
  faults     fault and latency rules (counted, random with a seed, lost answers)
  stats      request statistics per account and operation
  seed       the seeded world;  profiles: the files written for users
"""

__version__ = "1.0"

# The moto release the patches are written against: they replace moto's own
# methods by name and read its private state, so another release may break them
# in ways no error shows. `python3 -m kumo_sandbox` refuses to start on another.
MOTO_VERSION = "5.2.1"


def moto_version_problem(version=None):
    """None when the installed moto is MOTO_VERSION, else a message saying what to install.

    Pinned to the release: the extensions call moto's internals by name, which
    a patch release may change too."""
    if version is None:
        try:
            import moto
        except ImportError:
            return (f"moto is not installed; install moto {MOTO_VERSION} (with its server extras) "
                    f"for this python3")
        version = getattr(moto, "__version__", "")
    if version != MOTO_VERSION:
        return (f"moto {version or '(unknown version)'} is installed, but the sandbox is written for moto "
                f"{MOTO_VERSION}; install it (e.g. pip install 'moto[server]=={MOTO_VERSION}'), or point "
                f"KUMO_PYTHON at an interpreter that has it")
    return None
