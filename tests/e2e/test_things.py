"""End-to-end tests of the thing registry and device shadows through Debian's boto3.

Drives the AWS IoT control-plane subset (boto3 client "iot", SigV4 scope "execute-api":
CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings) and the data-plane
subset (client "iot-data", scope "iotdata": UpdateThingShadow, GetThingShadow,
DeleteThingShadow, ListNamedShadowsForThing) against the real server on one port, checks
every IoT control-plane response against the botocore model (ShapeRecorder), every error
class each API defines for these operations, and that registry and shadows survive a
restart.

Run with /usr/bin/python3 (Debian's boto3).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import botocore.config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server, ShapeRecorder, unique  # noqa: E402


def make_client(server, service):
    cfg = botocore.config.Config(retries={"total_max_attempts": 1},
                                 connect_timeout=5, read_timeout=30)
    session = boto3.session.Session(aws_access_key_id=server.access_key,
                                    aws_secret_access_key=server.secret_key,
                                    region_name=harness.REGION)
    return session.client(service, endpoint_url=server.endpoint, config=cfg)


def record(recorder, client):
    """Routes every raw response of `client` through `recorder` (any service)."""
    model = client.meta.service_model
    event = "response-received." + model.service_id.hyphenize()
    client.meta.events.register(
        event, lambda response_dict=None, **kw: recorder._on_response(model, response_dict))


def payload(resp):
    return json.loads(resp["payload"].read())


class ThingsE2E(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.connect()

    @classmethod
    def connect(cls):
        cls.iot = make_client(cls.server, "iot")
        cls.data = make_client(cls.server, "iot-data")
        cls.rec = ShapeRecorder()
        record(cls.rec, cls.iot)

    @classmethod
    def tearDownClass(cls):
        for c in (cls.iot, cls.data):
            c.close()
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    def setUp(self):
        self.rec.take_problems()

    def tearDown(self):
        self.assertEqual(self.rec.take_problems(), [],
                         "responses that do not match the service model")

    def assertError(self, code, status, fn, *args, contains=None, **kwargs):
        with self.assertRaises(ClientError, msg=f"{fn.__name__} should fail with {code}") as cm:
            fn(*args, **kwargs)
        resp = cm.exception.response
        self.assertEqual(resp["Error"]["Code"], code, resp)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], status, resp)
        self.assertTrue(resp["Error"].get("Message"), resp)
        if contains:
            self.assertIn(contains, resp["Error"]["Message"])
        return resp

    # ----- registry -------------------------------------------------------------

    def test_thing_lifecycle(self):
        name = unique("pump")
        out = self.iot.create_thing(thingName=name, thingTypeName="pump",
                                    attributePayload={"attributes": {"site": "north"}})
        self.assertEqual(out["thingName"], name)
        self.assertEqual(out["thingArn"],
                         f"arn:aws:iot:{harness.REGION}:{harness.ACCOUNT}:thing/{name}")
        self.assertEqual(len(out["thingId"]), 36)

        again = self.iot.create_thing(thingName=name, thingTypeName="pump",
                                      attributePayload={"attributes": {"site": "north"}})
        self.assertEqual(again["thingId"], out["thingId"])

        d = self.iot.describe_thing(thingName=name)
        self.assertEqual(d["thingName"], name)
        self.assertEqual(d["defaultClientId"], name)
        self.assertEqual(d["thingId"], out["thingId"])
        self.assertEqual(d["thingTypeName"], "pump")
        self.assertEqual(d["attributes"], {"site": "north"})
        self.assertEqual(d["version"], 1)

        self.iot.update_thing(thingName=name, expectedVersion=1,
                              attributePayload={"attributes": {"floor": "2"}, "merge": True})
        d = self.iot.describe_thing(thingName=name)
        self.assertEqual(d["attributes"], {"site": "north", "floor": "2"})
        self.assertEqual(d["version"], 2)

        self.iot.update_thing(thingName=name, removeThingType=True,
                              attributePayload={"attributes": {"only": "this"}})
        d = self.iot.describe_thing(thingName=name)
        self.assertNotIn("thingTypeName", d)
        self.assertEqual(d["attributes"], {"only": "this"})
        self.assertEqual(d["version"], 3)

        self.iot.update_thing(thingName=name,
                              attributePayload={"attributes": {"only": ""}, "merge": True})
        self.assertEqual(self.iot.describe_thing(thingName=name)["attributes"], {})

        self.iot.delete_thing(thingName=name, expectedVersion=4)
        self.assertError("ResourceNotFoundException", 404, self.iot.describe_thing,
                         thingName=name)
        self.iot.delete_thing(thingName=name)  # absent: still succeeds
        self.assertGreater(self.rec.responses, 0, "the shape recorder saw no responses")

    def test_registry_errors(self):
        name = unique("err")
        self.iot.create_thing(thingName=name)
        resp = self.assertError("ResourceAlreadyExistsException", 409, self.iot.create_thing,
                                thingName=name,
                                attributePayload={"attributes": {"k": "v"}})
        self.assertTrue(resp["Error"].get("resourceId") or resp.get("resourceId"), resp)
        self.assertError("VersionConflictException", 409, self.iot.update_thing,
                         thingName=name, expectedVersion=9)
        self.assertError("VersionConflictException", 409, self.iot.delete_thing,
                         thingName=name, expectedVersion=9)
        self.assertError("ResourceNotFoundException", 404, self.iot.update_thing,
                         thingName=unique("missing"), attributePayload={"attributes": {}})
        self.assertError("InvalidRequestException", 400, self.iot.create_thing,
                         thingName=unique("quota"),
                         attributePayload={"attributes": {"a": "1", "b": "2", "c": "3",
                                                          "d": "4"}})
        self.assertError("InvalidRequestException", 400, self.iot.update_thing,
                         thingName=name, thingTypeName="t", removeThingType=True)
        nv = boto3.session.Session(
            aws_access_key_id=self.server.access_key,
            aws_secret_access_key=self.server.secret_key,
            region_name=harness.REGION).client(
                "iot", endpoint_url=self.server.endpoint,
                config=botocore.config.Config(parameter_validation=False,
                                              retries={"total_max_attempts": 1}))
        try:
            record(self.rec, nv)
            self.assertError("InvalidRequestException", 400, nv.create_thing,
                             thingName="bad:name!")
            self.assertError("InvalidRequestException", 400, nv.list_things, maxResults=0)
        finally:
            nv.close()

    def test_list_things_paging_and_filters(self):
        prefix = unique("lst")
        names = [f"{prefix}_{i}" for i in range(5)]
        for i, n in enumerate(names):
            self.iot.create_thing(thingName=n, thingTypeName="meter",
                                  attributePayload={"attributes": {"batch": prefix,
                                                                   "idx": str(i)}})
        seen = []
        kwargs = {"maxResults": 2, "attributeName": "batch", "attributeValue": prefix}
        pages = 0
        while True:
            page = self.iot.list_things(**kwargs)
            pages += 1
            for t in page["things"]:
                self.assertEqual(t["thingTypeName"], "meter")
                self.assertEqual(t["version"], 1)
                self.assertTrue(t["thingArn"].endswith(":thing/" + t["thingName"]))
                seen.append(t["thingName"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        self.assertEqual(seen, names)
        self.assertEqual(pages, 3)
        paginated = [t["thingName"]
                     for p in self.iot.get_paginator("list_things").paginate(
                         attributeName="batch", attributeValue=prefix,
                         PaginationConfig={"PageSize": 2})
                     for t in p["things"]]
        self.assertEqual(paginated, names)
        one = self.iot.list_things(attributeName="idx", attributeValue="3",
                                   thingTypeName="meter")["things"]
        self.assertIn(names[3], [t["thingName"] for t in one])
        self.assertError("InvalidRequestException", 400, self.iot.list_things,
                         nextToken="not-a-token")

    # ----- shadows --------------------------------------------------------------

    def test_classic_shadow(self):
        thing = unique("lamp")
        self.assertError("ResourceNotFoundException", 404, self.data.get_thing_shadow,
                         thingName=thing, contains=thing)
        before = int(time.time())
        acc = payload(self.data.update_thing_shadow(
            thingName=thing,
            payload=json.dumps({"state": {"desired": {"on": True, "level": 5}},
                                "clientToken": "tok-1"})))
        self.assertEqual(acc["version"], 1)
        self.assertEqual(acc["clientToken"], "tok-1")
        self.assertEqual(acc["state"], {"desired": {"on": True, "level": 5}})
        self.assertGreaterEqual(acc["metadata"]["desired"]["on"]["timestamp"], before - 2)

        acc = payload(self.data.update_thing_shadow(
            thingName=thing,
            payload=json.dumps({"state": {"reported": {"on": True, "level": 1}},
                                "version": 1}).encode()))
        self.assertEqual(acc["version"], 2)

        doc = payload(self.data.get_thing_shadow(thingName=thing))
        self.assertEqual(doc["state"]["desired"], {"on": True, "level": 5})
        self.assertEqual(doc["state"]["reported"], {"on": True, "level": 1})
        self.assertEqual(doc["state"]["delta"], {"level": 5})
        self.assertEqual(set(doc["metadata"]), {"desired", "reported"})
        self.assertEqual(doc["version"], 2)
        self.assertIsInstance(doc["timestamp"], int)

        self.data.update_thing_shadow(
            thingName=thing, payload=json.dumps({"state": {"desired": {"level": None}}}))
        doc = payload(self.data.get_thing_shadow(thingName=thing))
        self.assertEqual(doc["state"]["desired"], {"on": True})
        self.assertNotIn("delta", doc["state"])
        self.assertEqual(doc["version"], 3)

        self.assertError("ConflictException", 409, self.data.update_thing_shadow,
                         thingName=thing,
                         payload=json.dumps({"state": {"desired": {"on": False}},
                                             "version": 1}))
        deleted = payload(self.data.delete_thing_shadow(thingName=thing))
        self.assertEqual(deleted["version"], 3)
        self.assertError("ResourceNotFoundException", 404, self.data.get_thing_shadow,
                         thingName=thing)
        self.assertError("ResourceNotFoundException", 404, self.data.delete_thing_shadow,
                         thingName=thing)

    def test_named_shadows(self):
        thing = unique("multi")
        for name, val in (("b", 1), ("a", 2)):
            self.data.update_thing_shadow(
                thingName=thing, shadowName=name,
                payload=json.dumps({"state": {"reported": {"v": val}}}))
        self.assertError("ResourceNotFoundException", 404, self.data.get_thing_shadow,
                         thingName=thing)
        doc = payload(self.data.get_thing_shadow(thingName=thing, shadowName="a"))
        self.assertEqual(doc["state"]["reported"], {"v": 2})
        listed = self.data.list_named_shadows_for_thing(thingName=thing, pageSize=1)
        self.assertEqual(listed["results"], ["a"])
        rest = self.data.list_named_shadows_for_thing(thingName=thing,
                                                      nextToken=listed["nextToken"])
        self.assertEqual(rest["results"], ["b"])
        self.assertNotIn("nextToken", rest)
        self.data.delete_thing_shadow(thingName=thing, shadowName="a")
        self.assertEqual(
            self.data.list_named_shadows_for_thing(thingName=thing)["results"], ["b"])

    def test_shadow_errors(self):
        thing = unique("bad")
        self.assertError("InvalidRequestException", 400, self.data.update_thing_shadow,
                         thingName=thing, payload=b"{not json")
        self.assertError("InvalidRequestException", 400, self.data.update_thing_shadow,
                         thingName=thing, payload=json.dumps({"desired": {"a": 1}}))
        self.assertError("InvalidRequestException", 400, self.data.update_thing_shadow,
                         thingName=thing, payload=json.dumps({"state": {"desired": [1]}}))
        self.assertError("RequestEntityTooLargeException", 413, self.data.update_thing_shadow,
                         thingName=thing,
                         payload=json.dumps({"state": {"reported": {"x": "y" * 9000}}}))
        self.assertError("UnsupportedDocumentEncodingException", 415,
                         self.data.update_thing_shadow, thingName=thing,
                         payload=b'{"state":{"reported":{"x":"\xff"}}}')
        self.assertError("ResourceNotFoundException", 404, self.data.get_thing_shadow,
                         thingName=thing)

    # ----- durability -----------------------------------------------------------

    def test_zz_survives_restart(self):
        name = unique("keep")
        created = self.iot.create_thing(thingName=name,
                                        attributePayload={"attributes": {"k": "v"}})
        self.data.update_thing_shadow(
            thingName=name, payload=json.dumps({"state": {"desired": {"x": 1}}}))
        for c in (self.iot, self.data):
            c.close()
        self.server.restart()
        type(self).connect()
        d = self.iot.describe_thing(thingName=name)
        self.assertEqual(d["thingId"], created["thingId"])
        self.assertEqual(d["attributes"], {"k": "v"})
        doc = payload(self.data.get_thing_shadow(thingName=name))
        self.assertEqual(doc["state"]["desired"], {"x": 1})
        self.assertEqual(doc["state"]["delta"], {"x": 1})
        self.assertEqual(doc["version"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
