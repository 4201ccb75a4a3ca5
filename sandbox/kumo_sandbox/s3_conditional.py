"""S3 conditional writes made atomic.

moto 5.2 honours `If-None-Match: *` and `If-Match` on PutObject (and
`If-Match` on DeleteObject), but checks the key and then writes it without
holding anything: on the sandbox's threaded server two conditional PUTs of a
missing key could both pass the check. (The window is small: 16 writers x
150 keys on stock moto never showed it; this makes it a guarantee, not luck.)
AWS: "If-None-Match:
Uploads the object only if the object key name does not already exist in the
specified bucket. Otherwise, Amazon S3 returns a 412 Precondition Failed
error." and "If a conflicting operation occurs during the upload S3 returns a
409 ConditionalRequestConflict response. On a 409 failure you should retry
the upload." (PutObject, API reference). A lock shared by every object
write and delete makes each check and its write one step, so of two
conditional writers exactly one wins (what a lock object in S3 relies on).
"""
import functools
import threading

import moto.s3.responses as s3_responses

_WRITE = threading.Lock()


def _serialized(fn):
    @functools.wraps(fn)
    def run(self, *args, **kwargs):
        with _WRITE:
            return fn(self, *args, **kwargs)
    run.__kumo_serialized__ = True
    return run


def install():
    R = s3_responses.S3Response
    for name in ("put_object", "delete_object"):
        fn = getattr(R, name)
        if not getattr(fn, "__kumo_serialized__", False):
            setattr(R, name, _serialized(fn))
