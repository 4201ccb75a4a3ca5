"""RAM TagResource / UntagResource on resource shares (moto routes neither).

Tags live where ram.py keeps them (`share._kumo_tags`, a list of
{"key", "value"}). "TagResource: Adds the specified tag keys and values to a
resource share" and "UntagResource: Removes the specified tag key and value
pairs from the specified resource share" (RAM API reference); a share that is
not the caller's is UnknownResourceException, as for the other share calls.
"""
import json

import moto.ram.responses as ram_responses
import moto.ram.urls as ram_urls

from .ram import _own_share


def _share(backend, arn):
    return _own_share(backend, arn)


def r_tag_resource(self):
    share = _share(self.ram_backend, self._get_param("resourceShareArn"))
    tags = {t["key"]: t.get("value") for t in share.__dict__.get("_kumo_tags", [])}
    for t in self._get_param("tags") or []:
        tags[t["key"]] = t.get("value")
    share.__dict__["_kumo_tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    return json.dumps({}), {"Content-Type": "application/json"}


def r_untag_resource(self):
    share = _share(self.ram_backend, self._get_param("resourceShareArn"))
    gone = set(self._get_param("tagKeys") or [])
    share.__dict__["_kumo_tags"] = [t for t in share.__dict__.get("_kumo_tags", []) if t["key"] not in gone]
    return json.dumps({}), {"Content-Type": "application/json"}


def install():
    R = ram_responses.ResourceAccessManagerResponse
    r_tag_resource.__name__ = "tag_resource"
    r_untag_resource.__name__ = "untag_resource"
    R.tag_resource = r_tag_resource
    R.untag_resource = r_untag_resource
    for path in ("tagresource", "untagresource"):
        ram_urls.url_paths["{0}/" + path + "$"] = R.dispatch
