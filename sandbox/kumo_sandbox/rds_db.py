"""DB instance lifecycle: `creating` -> `available`, and deletions that take
time (`deleting` until the lifecycle setting says the instance is gone).

moto creates instances `available` at once and forgets them on delete.
"""
from moto.core.responses import ActionResult, PaginatedResult
import moto.rds.models as rds_models
import moto.rds.responses as rds_responses
from moto.rds.exceptions import DBInstanceNotFoundError

from . import lifecycle


def deleting_instances(backend):
    return backend.__dict__.setdefault("_kumo_deleting_dbs", {})


def _lc(db):
    return db.__dict__.get("_kumo_lc")


def mark_available(db):
    """Seeded instances exist before anyone looks: available from the start."""
    if _lc(db):
        _lc(db).force("available")


def _patch_model():
    C = rds_models.DBInstance
    orig_init = C.__init__

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        self.__dict__["_kumo_lc"] = lifecycle.Lifecycle("db", "creating")

    def status_get(self):
        view = self.__dict__.get("_kumo_status_view")
        if view:
            return view
        lc = self.__dict__.get("_kumo_lc")
        return lc.status if lc else self.__dict__.get("_kumo_plain_status", "available")

    def status_set(self, value):
        lc = self.__dict__.get("_kumo_lc")
        if lc:
            lc.force(value)
        else:
            self.__dict__["_kumo_plain_status"] = value

    C.__init__ = init
    C.status = property(status_get, status_set)


_ORIG = {}


def describe_db_instances(self, db_instance_identifier=None, filters=None):
    deleting = deleting_instances(self)
    if db_instance_identifier and db_instance_identifier.lower() in deleting:
        db = deleting[db_instance_identifier.lower()]
        _lc(db).poll()
        if db.status == "deleted":
            deleting.pop(db_instance_identifier.lower(), None)
            raise DBInstanceNotFoundError(db_instance_identifier)
        return [db]
    dbs = list(_ORIG["describe_db_instances"](self, db_instance_identifier, filters=filters))
    if not db_instance_identifier and not filters:
        for key, db in list(deleting.items()):
            _lc(db).poll()
            if db.status == "deleted":
                deleting.pop(key, None)
            else:
                dbs.append(db)
    for db in dbs:
        if _lc(db) and db.status != "deleting":
            _lc(db).poll()
    return dbs


def delete_db_instance(self, db_instance_identifier, final_db_snapshot_identifier=None,
                       skip_final_snapshot=False, delete_automated_backups=True, **_):
    db = _ORIG["delete_db_instance"](self, db_instance_identifier, final_db_snapshot_identifier,
                                     skip_final_snapshot, delete_automated_backups)
    if _lc(db):
        _lc(db).force("deleting")
        deleting_instances(self)[db_instance_identifier.lower()] = db
    return lifecycle.view(db, "deleting")


def r_create_db_instance(self):
    db = self.backend.create_db_instance(self.params)
    return ActionResult({"DBInstance": lifecycle.view(db, "creating")})


def r_describe_db_instances(self):
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
    dbs = self.backend.describe_db_instances(self.params.get("DBInstanceIdentifier"), filters=filters)
    return PaginatedResult({"DBInstances": list(dbs)})


def install():
    _patch_model()
    B = rds_models.RDSBackend
    for name in ("describe_db_instances", "delete_db_instance"):
        _ORIG[name] = getattr(B, name)
    B.describe_db_instances = describe_db_instances
    B.delete_db_instance = delete_db_instance
    R = rds_responses.RDSResponse
    r_create_db_instance.__name__ = "create_db_instance"
    r_describe_db_instances.__name__ = "describe_db_instances"
    R.create_db_instance = r_create_db_instance
    R.describe_db_instances = r_describe_db_instances
