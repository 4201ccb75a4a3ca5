"""Secrets Manager where moto differs from AWS.

CreateSecret with the name of a secret scheduled for deletion: moto answers
with the deleted secret when the ClientRequestToken matches (a retry seems to
succeed although the secret is gone); AWS refuses it: InvalidRequestException,
"A parameter value is not valid for the current state of the resource.
Possible causes: The secret is scheduled for deletion." (API reference,
InvalidRequestException). The token rules themselves are moto's and AWS's
("If a version with this value already exists and the version SecretString
and SecretBinary values are the same as those in the request, then the
request is ignored. If a version with this value already exists and that
version's SecretString and SecretBinary values are different from those in
the request, then the request fails", CreateSecret, ClientRequestToken).
"""
from moto.secretsmanager.exceptions import InvalidRequestException
from moto.secretsmanager.models import SecretsManagerBackend

_ORIG = {}


def create_secret(self, name, *args, **kwargs):
    existing = self.secrets.get(name) if name in self.secrets.keys() else None
    if existing is not None and getattr(existing, "is_deleted", lambda: False)():
        raise InvalidRequestException(
            f"You can't create this secret because a secret with this name ({name}) is already scheduled "
            "for deletion. Restore it with RestoreSecret, or choose another name.")
    return _ORIG["create_secret"](self, name, *args, **kwargs)


def install():
    _ORIG["create_secret"] = SecretsManagerBackend.create_secret
    SecretsManagerBackend.create_secret = create_secret
