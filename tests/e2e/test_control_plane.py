"""End-to-end tests of the IoT Analytics control plane through Debian's boto3.

Every control-plane operation for channels, datastores, pipelines and datasets, tags and
logging options; response shapes against the botocore model (ShapeRecorder checks every
raw response); and every error class: InvalidRequest (names, ranges, unions, pipeline
graphs, references), ResourceNotFound, ResourceAlreadyExists, LimitExceeded, the five
dataset-trigger messages, and the not-yet-available data-plane operations.

Run with /usr/bin/python3 (Debian's boto3 1.26 still has the iotanalytics client).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.exceptions import ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server, ShapeRecorder, unique  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/sluice-test-role"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/analysis:latest"

STATUS = {
    "InvalidRequestException": 400,
    "ResourceNotFoundException": 404,
    "ResourceAlreadyExistsException": 409,
    "LimitExceededException": 410,
}


def sql_actions(query="SELECT * FROM mystore", name="q1"):
    return [{"actionName": name, "queryAction": {"sqlQuery": query}}]


def container_actions(name="run1", **extra):
    action = {"image": IMAGE, "executionRoleArn": ROLE,
              "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 2}}
    action.update(extra)
    return [{"actionName": name, "containerAction": action}]


def simple_activities(channel, datastore):
    return [{"channel": {"name": "src", "channelName": channel, "next": "sink"}},
            {"datastore": {"name": "sink", "datastoreName": datastore}}]


def epoch(dt):
    return dt.timestamp()


class E2ETestCase(unittest.TestCase):
    """A test class with its own server; clients record every response for checking."""

    server_args = []

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=cls.server_args).start()
        cls.c = cls.server.client()
        # botocore validates some constraints (required members, min lengths) before
        # sending; the unvalidated client lets the server see the bad request.
        cls.nv = cls.server.client(validate=False)
        cls.rec = ShapeRecorder(cls.c, cls.nv)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    def setUp(self):
        self.rec.take_problems()

    def tearDown(self):
        problems = self.rec.take_problems()
        self.assertEqual(problems, [], "responses that do not match the service model")

    # ----- helpers -----

    def assertError(self, code, fn, *args, contains=(), **kwargs):
        with self.assertRaises(ClientError, msg=f"{fn.__name__} should fail with {code}") as cm:
            fn(*args, **kwargs)
        resp = cm.exception.response
        self.assertEqual(resp["Error"]["Code"], code, resp)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], STATUS[code], resp)
        msg = resp["Error"].get("Message", "")
        self.assertTrue(msg, "error without a message")
        for text in ([contains] if isinstance(contains, str) else contains):
            self.assertIn(text, msg)
        return cm.exception

    def assertRecent(self, dt, before, after, slack=2.0):
        t = epoch(dt)
        self.assertGreaterEqual(t, before - slack)
        self.assertLessEqual(t, after + slack)

    def assertEcho(self, expected, actual, path="$"):
        """actual equals expected, except extra members holding an empty default."""
        if isinstance(expected, dict):
            self.assertIsInstance(actual, dict, path)
            for k, v in expected.items():
                self.assertIn(k, actual, f"{path}.{k} missing in {actual}")
                self.assertEcho(v, actual[k], f"{path}.{k}")
            for k in set(actual) - set(expected):
                self.assertIn(actual[k], ([], {}, False),
                              f"{path}.{k} = {actual[k]!r} was not in the request")
        elif isinstance(expected, list):
            self.assertIsInstance(actual, list, path)
            self.assertEqual(len(actual), len(expected), f"{path}: {actual}")
            for i, (e, a) in enumerate(zip(expected, actual)):
                self.assertEcho(e, a, f"{path}[{i}]")
        else:
            self.assertEqual(actual, expected, path)

    def tags_of(self, arn):
        tags = self.c.list_tags_for_resource(resourceArn=arn)["tags"]
        return {t["key"]: t["value"] for t in tags}


# =====================================================================================
class ChannelTest(E2ETestCase):

    def test_create_and_describe_with_defaults(self):
        name = unique("ch")
        before = time.time()
        r = self.c.create_channel(channelName=name)
        after = time.time()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertTrue(r["ResponseMetadata"]["RequestId"])
        self.assertEqual(r["channelName"], name)
        self.assertEqual(r["channelArn"],
                         f"arn:aws:iotanalytics:us-east-1:123456789012:channel/{name}")
        self.assertEqual(r["retentionPeriod"], {"unlimited": True})

        d = self.c.describe_channel(channelName=name)
        self.assertNotIn("statistics", d)
        ch = d["channel"]
        self.assertEqual(ch["name"], name)
        self.assertEqual(ch["arn"], r["channelArn"])
        self.assertEqual(ch["status"], "ACTIVE")
        self.assertEqual(ch["retentionPeriod"], {"unlimited": True})
        self.assertEqual(ch["storage"], {"serviceManagedS3": {}})
        self.assertRecent(ch["creationTime"], before, after)
        self.assertGreaterEqual(epoch(ch["lastUpdateTime"]), epoch(ch["creationTime"]))
        self.assertNotIn("lastMessageArrivalTime", ch)

    def test_include_statistics(self):
        name = unique("ch")
        self.c.create_channel(channelName=name)
        before = time.time()
        d = self.c.describe_channel(channelName=name, includeStatistics=True)
        size = d["statistics"]["size"]
        self.assertIsInstance(size["estimatedSizeInBytes"], (int, float))
        self.assertGreaterEqual(size["estimatedSizeInBytes"], 0)
        if "estimatedOn" in size:
            self.assertRecent(size["estimatedOn"], before, time.time(), slack=120)
        d = self.c.describe_channel(channelName=name, includeStatistics=False)
        self.assertNotIn("statistics", d)
        self.assertEqual(d["channel"]["name"], name)

    def test_retention_days_and_update(self):
        name = unique("ch")
        r = self.c.create_channel(channelName=name, retentionPeriod={"numberOfDays": 3})
        self.assertEqual(r["retentionPeriod"]["numberOfDays"], 3)
        self.assertFalse(r["retentionPeriod"].get("unlimited", False))
        first = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(first["retentionPeriod"]["numberOfDays"], 3)
        self.assertFalse(first["retentionPeriod"].get("unlimited", False))

        u = self.c.update_channel(channelName=name, retentionPeriod={"unlimited": True})
        self.assertEqual(u["ResponseMetadata"]["HTTPStatusCode"], 200)
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["retentionPeriod"], {"unlimited": True})
        self.assertEqual(ch["creationTime"], first["creationTime"])
        self.assertGreaterEqual(epoch(ch["lastUpdateTime"]), epoch(first["lastUpdateTime"]))

        self.c.update_channel(channelName=name, retentionPeriod={"numberOfDays": 10,
                                                                  "unlimited": False})
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["retentionPeriod"]["numberOfDays"], 10)
        self.assertFalse(ch["retentionPeriod"].get("unlimited", False))

    def test_customer_managed_storage(self):
        name = unique("ch")
        storage = {"customerManagedS3": {"bucket": "my-raw-bucket", "keyPrefix": "raw/",
                                         "roleArn": ROLE}}
        self.c.create_channel(channelName=name, channelStorage=storage)
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["storage"], storage)
        summaries = self.c.list_channels(maxResults=250)["channelSummaries"]
        mine = [s for s in summaries if s["channelName"] == name]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["channelStorage"], storage)

    def test_storage_type_cannot_switch(self):
        name = unique("ch")
        self.c.create_channel(channelName=name)
        self.assertError("InvalidRequestException", self.c.update_channel, channelName=name,
                         channelStorage={"customerManagedS3": {"bucket": "my-raw-bucket",
                                                               "roleArn": ROLE}})
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["storage"], {"serviceManagedS3": {}})

    def test_list_summaries(self):
        names = [unique("ch") for _ in range(2)]
        for n in names:
            self.c.create_channel(channelName=n)
        summaries = self.c.list_channels(maxResults=250)["channelSummaries"]
        by_name = {s["channelName"]: s for s in summaries}
        for n in names:
            s = by_name[n]
            self.assertEqual(s["status"], "ACTIVE")
            self.assertEqual(s["channelStorage"], {"serviceManagedS3": {}})
            self.assertGreaterEqual(epoch(s["lastUpdateTime"]), epoch(s["creationTime"]))
            self.assertRecent(s["creationTime"], time.time() - 60, time.time())

    def test_delete(self):
        name = unique("ch")
        self.c.create_channel(channelName=name)
        r = self.c.delete_channel(channelName=name)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("ResourceNotFoundException", self.c.describe_channel, channelName=name,
                         contains=name)
        self.assertError("ResourceNotFoundException", self.c.delete_channel, channelName=name)
        self.assertError("ResourceNotFoundException", self.c.update_channel, channelName=name,
                         retentionPeriod={"unlimited": True})
        names = [s["channelName"] for s in self.c.list_channels(maxResults=250)["channelSummaries"]]
        self.assertNotIn(name, names)
        # The name can be reused.
        self.assertEqual(self.c.create_channel(channelName=name)["channelName"], name)

    def test_already_exists(self):
        name = unique("ch")
        self.c.create_channel(channelName=name, retentionPeriod={"numberOfDays": 4})
        e = self.assertError("ResourceAlreadyExistsException", self.c.create_channel,
                             channelName=name)
        self.assertEqual(e.response.get("resourceId"), name)
        self.assertEqual(e.response.get("resourceArn"), self.server.arn("channel", name))
        # The original is untouched.
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["retentionPeriod"]["numberOfDays"], 4)

    def test_name_validation(self):
        for bad in ["a-b", "has space", "x" * 129, "__lead", "caf\u00e9", "dot.ted"]:
            with self.subTest(name=bad):
                self.assertError("InvalidRequestException", self.nv.create_channel,
                                 channelName=bad, contains="channelName")
        self.assertError("InvalidRequestException", self.nv.create_channel, channelName="",
                         contains="channelName")
        self.assertError("InvalidRequestException", self.nv.create_channel,
                         contains="channelName")
        self.assertError("InvalidRequestException", self.nv.describe_channel, channelName="a-b",
                         contains="channelName")
        longest = "L" * 128
        self.assertEqual(self.c.create_channel(channelName=longest)["channelName"], longest)
        self.assertEqual(self.c.create_channel(channelName="_x9")["channelName"], "_x9")
        names = {s["channelName"] for s in self.c.list_channels(maxResults=250)["channelSummaries"]}
        self.assertFalse(names & {"a-b", "__lead", "x" * 129})

    def test_retention_validation(self):
        name = unique("ch")
        self.assertError("InvalidRequestException", self.nv.create_channel, channelName=name,
                         retentionPeriod={"numberOfDays": 0}, contains="numberOfDays")
        self.assertError("InvalidRequestException", self.nv.create_channel, channelName=name,
                         retentionPeriod={"numberOfDays": -5}, contains="numberOfDays")
        self.assertError("InvalidRequestException", self.nv.create_channel, channelName=name,
                         retentionPeriod={"unlimited": True, "numberOfDays": 5})
        self.assertError("ResourceNotFoundException", self.c.describe_channel, channelName=name)

    def test_storage_validation(self):
        name = unique("ch")
        cases = [
            ({"serviceManagedS3": {}, "customerManagedS3": {"bucket": "bkt", "roleArn": ROLE}},
             None),
            ({"customerManagedS3": {"bucket": "my-bucket"}}, "roleArn"),
            ({"customerManagedS3": {"bucket": "my-bucket", "roleArn": ROLE,
                                    "keyPrefix": "no-slash"}}, "keyPrefix"),
            ({"customerManagedS3": {"bucket": "ab", "roleArn": ROLE}}, "bucket"),
            ({"customerManagedS3": {"bucket": "my-bucket", "roleArn": "arn:short"}}, "roleArn"),
        ]
        for storage, field in cases:
            with self.subTest(storage=storage):
                self.assertError("InvalidRequestException", self.nv.create_channel,
                                 channelName=name, channelStorage=storage,
                                 contains=[field] if field else [])
        self.assertError("ResourceNotFoundException", self.c.describe_channel, channelName=name)

    def test_tag_validation_on_create(self):
        name = unique("ch")
        too_many = [{"key": f"k{i}", "value": "v"} for i in range(51)]
        for tags in (too_many, [{"key": "", "value": "v"}], [{"key": "k", "value": "v" * 257}],
                     [{"key": "k" * 257, "value": "v"}], []):
            with self.subTest(n=len(tags)):
                self.assertError("InvalidRequestException", self.nv.create_channel,
                                 channelName=name, tags=tags, contains="tags")
        self.assertError("ResourceNotFoundException", self.c.describe_channel, channelName=name)

    def test_malformed_json_body(self):
        name = unique("ch")
        for body in (b'{"channelName": ', b"[1,2]", b'{"channelName": 5}'):
            with self.subTest(body=body):
                status, headers, data = self.server.signed("POST", "/channels", body)
                self.assertEqual(status, 400, data)
                self.assertEqual(harness.error_code((status, headers, data)),
                                 ("InvalidRequestException", "InvalidRequestException"))
                self.assertTrue(headers.get("x-amzn-requestid"))
        self.assertError("ResourceNotFoundException", self.c.describe_channel, channelName=name)


# =====================================================================================
class DatastoreTest(E2ETestCase):

    def test_create_and_describe_with_defaults(self):
        name = unique("ds")
        before = time.time()
        r = self.c.create_datastore(datastoreName=name)
        after = time.time()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(r["datastoreName"], name)
        self.assertEqual(r["datastoreArn"], self.server.arn("datastore", name))
        self.assertEqual(r["retentionPeriod"], {"unlimited": True})
        d = self.c.describe_datastore(datastoreName=name)
        self.assertNotIn("statistics", d)
        ds = d["datastore"]
        self.assertEqual(ds["name"], name)
        self.assertEqual(ds["arn"], r["datastoreArn"])
        self.assertEqual(ds["status"], "ACTIVE")
        self.assertEqual(ds["storage"], {"serviceManagedS3": {}})
        self.assertEqual(ds["retentionPeriod"], {"unlimited": True})
        self.assertEqual(ds.get("fileFormatConfiguration", {"jsonConfiguration": {}}),
                         {"jsonConfiguration": {}})
        self.assertRecent(ds["creationTime"], before, after)
        self.assertGreaterEqual(epoch(ds["lastUpdateTime"]), epoch(ds["creationTime"]))
        summaries = self.c.list_datastores(maxResults=250)["datastoreSummaries"]
        s = [x for x in summaries if x["datastoreName"] == name]
        self.assertEqual(len(s), 1)
        self.assertEqual(s[0]["fileFormatType"], "JSON")
        self.assertEqual(s[0]["status"], "ACTIVE")
        self.assertEqual(s[0]["datastoreStorage"], {"serviceManagedS3": {}})
        self.assertEqual(s[0]["creationTime"], ds["creationTime"])

    def test_include_statistics(self):
        name = unique("ds")
        self.c.create_datastore(datastoreName=name)
        d = self.c.describe_datastore(datastoreName=name, includeStatistics=True)
        self.assertGreaterEqual(d["statistics"]["size"]["estimatedSizeInBytes"], 0)
        self.assertEqual(d["datastore"]["name"], name)

    def test_parquet_and_partitions(self):
        name = unique("ds")
        ffc = {"parquetConfiguration": {"schemaDefinition": {"columns": [
            {"name": "device_id", "type": "string"},
            {"name": "temp", "type": "double"},
            {"name": "ts", "type": "timestamp"},
            {"name": "tags", "type": "array<struct<k:string,v:int>>"}]}}}
        parts = {"partitions": [
            {"attributePartition": {"attributeName": "device_id"}},
            {"timestampPartition": {"attributeName": "ts", "timestampFormat": "yyyy-MM-dd HH:mm:ss"}}]}
        self.c.create_datastore(datastoreName=name, fileFormatConfiguration=ffc,
                                datastorePartitions=parts, retentionPeriod={"numberOfDays": 90})
        ds = self.c.describe_datastore(datastoreName=name)["datastore"]
        self.assertEqual(ds["fileFormatConfiguration"], ffc)
        self.assertEqual(ds["datastorePartitions"], parts)
        self.assertEqual(ds["retentionPeriod"]["numberOfDays"], 90)
        s = [x for x in self.c.list_datastores(maxResults=250)["datastoreSummaries"]
             if x["datastoreName"] == name][0]
        self.assertEqual(s["fileFormatType"], "PARQUET")
        self.assertEqual(s["datastorePartitions"], parts)

        # Adding a column keeps the format type, so it is allowed.
        ffc2 = json.loads(json.dumps(ffc))
        ffc2["parquetConfiguration"]["schemaDefinition"]["columns"].append(
            {"name": "humidity", "type": "int"})
        self.c.update_datastore(datastoreName=name, fileFormatConfiguration=ffc2)
        ds = self.c.describe_datastore(datastoreName=name)["datastore"]
        self.assertEqual(ds["fileFormatConfiguration"], ffc2)

    def test_customer_and_sitewise_storage(self):
        cm = {"customerManagedS3": {"bucket": "my-store-bucket", "keyPrefix": "ds/",
                                    "roleArn": ROLE}}
        sw = {"iotSiteWiseMultiLayerStorage": {"customerManagedS3Storage": {
            "bucket": "my-sitewise-bucket", "keyPrefix": "sw/"}}}
        for storage in (cm, sw):
            with self.subTest(storage=list(storage)):
                name = unique("ds")
                self.c.create_datastore(datastoreName=name, datastoreStorage=storage)
                ds = self.c.describe_datastore(datastoreName=name)["datastore"]
                self.assertEqual(ds["storage"], storage)
                s = [x for x in self.c.list_datastores(maxResults=250)["datastoreSummaries"]
                     if x["datastoreName"] == name][0]
                self.assertEqual(s["datastoreStorage"], storage)

    def test_update(self):
        name = unique("ds")
        self.c.create_datastore(datastoreName=name)
        first = self.c.describe_datastore(datastoreName=name)["datastore"]
        r = self.c.update_datastore(datastoreName=name, retentionPeriod={"numberOfDays": 30})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        ds = self.c.describe_datastore(datastoreName=name)["datastore"]
        self.assertEqual(ds["retentionPeriod"]["numberOfDays"], 30)
        self.assertFalse(ds["retentionPeriod"].get("unlimited", False))
        self.assertEqual(ds["creationTime"], first["creationTime"])
        self.assertGreaterEqual(epoch(ds["lastUpdateTime"]), epoch(first["lastUpdateTime"]))
        self.assertError("ResourceNotFoundException", self.c.update_datastore,
                         datastoreName=unique("nope"), retentionPeriod={"unlimited": True})

    def test_format_cannot_switch(self):
        name = unique("ds")
        self.c.create_datastore(datastoreName=name)
        self.assertError("InvalidRequestException", self.c.update_datastore, datastoreName=name,
                         fileFormatConfiguration={"parquetConfiguration": {"schemaDefinition": {
                             "columns": [{"name": "a", "type": "int"}]}}})
        s = [x for x in self.c.list_datastores(maxResults=250)["datastoreSummaries"]
             if x["datastoreName"] == name][0]
        self.assertEqual(s["fileFormatType"], "JSON")

    def test_delete_and_not_found(self):
        name = unique("ds")
        self.c.create_datastore(datastoreName=name)
        self.assertEqual(self.c.delete_datastore(datastoreName=name)
                         ["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("ResourceNotFoundException", self.c.describe_datastore,
                         datastoreName=name)
        self.assertError("ResourceNotFoundException", self.c.delete_datastore, datastoreName=name)

    def test_already_exists(self):
        name = unique("ds")
        self.c.create_datastore(datastoreName=name)
        e = self.assertError("ResourceAlreadyExistsException", self.c.create_datastore,
                             datastoreName=name)
        self.assertEqual(e.response.get("resourceId"), name)
        self.assertEqual(e.response.get("resourceArn"), self.server.arn("datastore", name))

    def test_validation(self):
        name = unique("ds")
        parquet = lambda cols: {"parquetConfiguration": {"schemaDefinition": {"columns": cols}}}
        attr = lambda i: {"attributePartition": {"attributeName": f"a{i}"}}
        cases = [
            ({"datastoreName": "bad-name"}, "datastoreName"),
            ({"datastoreName": "y" * 129}, "datastoreName"),
            ({"datastorePartitions": {"partitions": [attr(i) for i in range(26)]}}, "partitions"),
            ({"datastorePartitions": {"partitions": [
                {"timestampPartition": {"attributeName": "t1"}},
                {"timestampPartition": {"attributeName": "t2"}}]}}, None),
            ({"datastorePartitions": {"partitions": [
                {"timestampPartition": {"attributeName": "t1", "timestampFormat": "%Y-%m"}}]}},
             "timestampFormat"),
            ({"datastorePartitions": {"partitions": [
                {"attributePartition": {"attributeName": "bad-attr"}}]}}, "attributeName"),
            ({"datastorePartitions": {"partitions": [{}]}}, None),
            ({"fileFormatConfiguration": {"jsonConfiguration": {},
                                          "parquetConfiguration": {}}}, None),
            ({"fileFormatConfiguration": parquet([{"name": "1bad", "type": "int"}])}, None),
            ({"fileFormatConfiguration": parquet([{"name": "ok", "type": ""}])}, None),
            ({"datastoreStorage": {"serviceManagedS3": {},
                                   "customerManagedS3": {"bucket": "bkt", "roleArn": ROLE}}},
             None),
            ({"datastoreStorage": {"iotSiteWiseMultiLayerStorage": {}}},
             "customerManagedS3Storage"),
            ({"retentionPeriod": {"numberOfDays": 0}}, "numberOfDays"),
        ]
        for extra, field in cases:
            with self.subTest(extra=extra):
                kwargs = {"datastoreName": name}
                kwargs.update(extra)
                self.assertError("InvalidRequestException", self.nv.create_datastore,
                                 contains=[field] if field else [], **kwargs)
        self.assertError("ResourceNotFoundException", self.c.describe_datastore,
                         datastoreName=name)
        self.assertError("InvalidRequestException", self.nv.describe_datastore,
                         datastoreName="bad-name", contains="datastoreName")


# =====================================================================================
class PipelineTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ch = unique("pch")
        cls.ds = unique("pds")
        cls.c.create_channel(channelName=cls.ch)
        cls.c.create_datastore(datastoreName=cls.ds)

    def all_kinds(self):
        return [
            {"channel": {"name": "a0", "channelName": self.ch, "next": "a1"}},
            {"lambda": {"name": "a1", "lambdaName": "decode-fn_1", "batchSize": 10,
                        "next": "a2"}},
            {"addAttributes": {"name": "a2", "attributes": {"device.id": "id",
                                                            "device.coord[0]": "lat"},
                               "next": "a3"}},
            {"removeAttributes": {"name": "a3", "attributes": ["device"], "next": "a4"}},
            {"selectAttributes": {"name": "a4", "attributes": ["id", "lat", "temp"],
                                  "next": "a5"}},
            {"filter": {"name": "a5", "filter": "temp > 40 AND lat < 20", "next": "a6"}},
            {"math": {"name": "a6", "attribute": "tempC", "math": "(temp - 32) * 5.0 / 9.0",
                      "next": "a7"}},
            {"deviceRegistryEnrich": {"name": "a7", "attribute": "thing", "thingName": "id",
                                      "roleArn": ROLE, "next": "a8"}},
            {"deviceShadowEnrich": {"name": "a8", "attribute": "shadow", "thingName": "id",
                                    "roleArn": ROLE, "next": "a9"}},
            {"datastore": {"name": "a9", "datastoreName": self.ds}},
        ]

    def test_create_and_describe(self):
        name = unique("pl")
        # List order is irrelevant: the datastore may come first.
        acts = [{"datastore": {"name": "sink", "datastoreName": self.ds}},
                {"math": {"name": "conv", "attribute": "tempC",
                          "math": "(temp - 32) * 5.0 / 9.0", "next": "sink"}},
                {"channel": {"name": "src", "channelName": self.ch, "next": "conv"}}]
        before = time.time()
        r = self.c.create_pipeline(pipelineName=name, pipelineActivities=acts,
                                   tags=[{"key": "team", "value": "ops"}])
        after = time.time()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(r["pipelineName"], name)
        self.assertEqual(r["pipelineArn"], self.server.arn("pipeline", name))
        p = self.c.describe_pipeline(pipelineName=name)["pipeline"]
        self.assertEqual(p["name"], name)
        self.assertEqual(p["arn"], r["pipelineArn"])
        self.assertEqual(sorted(map(json.dumps, p["activities"])),
                         sorted(map(json.dumps, acts)))
        self.assertEqual(p.get("reprocessingSummaries", []), [])
        self.assertRecent(p["creationTime"], before, after)
        self.assertGreaterEqual(epoch(p["lastUpdateTime"]), epoch(p["creationTime"]))
        self.assertEqual(self.tags_of(r["pipelineArn"]), {"team": "ops"})

    def test_every_activity_kind(self):
        name = unique("pl")
        acts = self.all_kinds()
        self.c.create_pipeline(pipelineName=name, pipelineActivities=acts)
        p = self.c.describe_pipeline(pipelineName=name)["pipeline"]
        self.assertEcho(sorted(acts, key=json.dumps), sorted(p["activities"], key=json.dumps))

    def test_max_activities(self):
        name = unique("pl")
        acts = [{"channel": {"name": "m0", "channelName": self.ch, "next": "m1"}}]
        acts += [{"math": {"name": f"m{i}", "attribute": f"x{i}", "math": "1 + 1",
                           "next": f"m{i + 1}"}} for i in range(1, 24)]
        acts.append({"datastore": {"name": "m24", "datastoreName": self.ds}})
        self.assertEqual(len(acts), 25)
        self.c.create_pipeline(pipelineName=name, pipelineActivities=acts)
        self.assertEqual(len(self.c.describe_pipeline(pipelineName=name)
                             ["pipeline"]["activities"]), 25)

    def test_update(self):
        name = unique("pl")
        self.c.create_pipeline(pipelineName=name,
                               pipelineActivities=simple_activities(self.ch, self.ds))
        first = self.c.describe_pipeline(pipelineName=name)["pipeline"]
        acts = [{"channel": {"name": "src", "channelName": self.ch, "next": "f"}},
                {"filter": {"name": "f", "filter": "temp > 10", "next": "sink"}},
                {"datastore": {"name": "sink", "datastoreName": self.ds}}]
        r = self.c.update_pipeline(pipelineName=name, pipelineActivities=acts)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        p = self.c.describe_pipeline(pipelineName=name)["pipeline"]
        self.assertEqual(sorted(map(json.dumps, p["activities"])), sorted(map(json.dumps, acts)))
        self.assertEqual(p["creationTime"], first["creationTime"])
        self.assertGreaterEqual(epoch(p["lastUpdateTime"]), epoch(first["lastUpdateTime"]))
        self.assertError("ResourceNotFoundException", self.c.update_pipeline,
                         pipelineName=unique("nope"), pipelineActivities=acts)

    def test_list_summaries(self):
        name = unique("pl")
        self.c.create_pipeline(pipelineName=name,
                               pipelineActivities=simple_activities(self.ch, self.ds))
        summaries = self.c.list_pipelines(maxResults=250)["pipelineSummaries"]
        s = [x for x in summaries if x["pipelineName"] == name]
        self.assertEqual(len(s), 1)
        self.assertEqual(s[0]["reprocessingSummaries"], [])
        self.assertRecent(s[0]["creationTime"], time.time() - 60, time.time())
        self.assertGreaterEqual(epoch(s[0]["lastUpdateTime"]), epoch(s[0]["creationTime"]))

    def test_delete_and_not_found(self):
        name = unique("pl")
        self.c.create_pipeline(pipelineName=name,
                               pipelineActivities=simple_activities(self.ch, self.ds))
        self.assertEqual(self.c.delete_pipeline(pipelineName=name)
                         ["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("ResourceNotFoundException", self.c.describe_pipeline, pipelineName=name)
        self.assertError("ResourceNotFoundException", self.c.delete_pipeline, pipelineName=name)

    def test_already_exists(self):
        name = unique("pl")
        self.c.create_pipeline(pipelineName=name,
                               pipelineActivities=simple_activities(self.ch, self.ds))
        e = self.assertError("ResourceAlreadyExistsException", self.c.create_pipeline,
                             pipelineName=name,
                             pipelineActivities=simple_activities(self.ch, self.ds))
        self.assertEqual(e.response.get("resourceId"), name)
        self.assertEqual(e.response.get("resourceArn"), self.server.arn("pipeline", name))

    def test_graph_errors(self):
        ch, ds = self.ch, self.ds
        chan = lambda nm="src", nxt="sink": {"channel": {"name": nm, "channelName": ch,
                                                        **({"next": nxt} if nxt else {})}}
        store = lambda nm="sink": {"datastore": {"name": nm, "datastoreName": ds}}
        math = lambda nm, nxt: {"math": {"name": nm, "attribute": "x", "math": "1",
                                         **({"next": nxt} if nxt else {})}}
        long_chain = [chan("m0", "m1")] + [math(f"m{i}", f"m{i + 1}") for i in range(1, 25)] + [
            store("m25")]
        cases = {
            "empty list": [],
            "no channel": [math("m", "sink"), store()],
            "no datastore": [chan("src", "m"), math("m", None)],
            "two channels": [chan("src", "sink"), chan("src2", "sink"), store()],
            "two datastores": [chan("src", "sink"), store(), store("sink2")],
            "cycle": [chan("src", "a"), math("a", "b"), math("b", "a"), store()],
            "self loop": [chan("src", "a"), math("a", "a"), store()],
            "next names nothing": [chan("src", "nowhere"), store()],
            "chain stops early": [chan("src", None), store()],
            "duplicate names": [chan("src", "y"), math("y", "sink"), math("y", "sink"), store()],
            "two kinds in one element": [{**chan(), **math("m", "sink")}, store()],
            "empty element": [chan(), {}, store()],
            "26 activities": long_chain,
            "lambda batchSize 0": [chan("src", "l"), {"lambda": {
                "name": "l", "lambdaName": "fn", "batchSize": 0, "next": "sink"}}, store()],
            "lambda batchSize 1001": [chan("src", "l"), {"lambda": {
                "name": "l", "lambdaName": "fn", "batchSize": 1001, "next": "sink"}}, store()],
            "bad lambda name": [chan("src", "l"), {"lambda": {
                "name": "l", "lambdaName": "bad name!", "batchSize": 1, "next": "sink"}}, store()],
            "empty attribute map": [chan("src", "aa"), {"addAttributes": {
                "name": "aa", "attributes": {}, "next": "sink"}}, store()],
            "empty filter": [chan("src", "f"), {"filter": {
                "name": "f", "filter": "", "next": "sink"}}, store()],
            "activity name too long": [chan("n" * 129, "sink"), store()],
            "channel activity without channelName": [
                {"channel": {"name": "src", "next": "sink"}}, store()],
        }
        self.assertEqual(len(long_chain), 26)
        for label, acts in cases.items():
            with self.subTest(case=label):
                name = unique("bad")
                self.assertError("InvalidRequestException", self.nv.create_pipeline,
                                 pipelineName=name, pipelineActivities=acts)
                self.assertError("ResourceNotFoundException", self.c.describe_pipeline,
                                 pipelineName=name)

    def test_unknown_channel_or_datastore(self):
        name = unique("pl")
        missing_ch = unique("nochan")
        missing_ds = unique("nostore")
        self.assertError("InvalidRequestException", self.c.create_pipeline, pipelineName=name,
                         pipelineActivities=simple_activities(missing_ch, self.ds))
        self.assertError("InvalidRequestException", self.c.create_pipeline, pipelineName=name,
                         pipelineActivities=simple_activities(self.ch, missing_ds))
        self.assertError("ResourceNotFoundException", self.c.describe_pipeline, pipelineName=name)
        # Through UpdatePipeline too, and the pipeline keeps its activities.
        good = simple_activities(self.ch, self.ds)
        self.c.create_pipeline(pipelineName=name, pipelineActivities=good)
        self.assertError("InvalidRequestException", self.c.update_pipeline, pipelineName=name,
                         pipelineActivities=simple_activities(missing_ch, self.ds))
        p = self.c.describe_pipeline(pipelineName=name)["pipeline"]
        self.assertEqual(sorted(map(json.dumps, p["activities"])), sorted(map(json.dumps, good)))

    def test_name_validation(self):
        for bad in ("p-1", "q" * 129, "__p"):
            with self.subTest(name=bad):
                self.assertError("InvalidRequestException", self.nv.create_pipeline,
                                 pipelineName=bad,
                                 pipelineActivities=simple_activities(self.ch, self.ds),
                                 contains="pipelineName")


# =====================================================================================
class DatasetTest(E2ETestCase):

    def test_sql_dataset_defaults(self):
        name = unique("dset")
        before = time.time()
        r = self.c.create_dataset(datasetName=name, actions=sql_actions())
        after = time.time()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(r["datasetName"], name)
        self.assertEqual(r["datasetArn"], self.server.arn("dataset", name))
        d = self.c.describe_dataset(datasetName=name)["dataset"]
        self.assertEqual(d["name"], name)
        self.assertEqual(d["arn"], r["datasetArn"])
        self.assertEqual(d["status"], "ACTIVE")
        self.assertEqual(len(d["actions"]), 1)
        self.assertEqual(d["actions"][0]["actionName"], "q1")
        self.assertEqual(d["actions"][0]["queryAction"]["sqlQuery"], "SELECT * FROM mystore")
        self.assertEqual(d["actions"][0]["queryAction"].get("filters", []), [])
        self.assertNotIn("containerAction", d["actions"][0])
        self.assertEqual(d["triggers"], [])
        self.assertEqual(d["contentDeliveryRules"], [])
        self.assertEqual(d["retentionPeriod"], {"numberOfDays": 90, "unlimited": False})
        self.assertRecent(d["creationTime"], before, after)
        self.assertGreaterEqual(epoch(d["lastUpdateTime"]), epoch(d["creationTime"]))

    def test_full_sql_dataset_echo(self):
        name = unique("dset")
        actions = [{"actionName": "hourly", "queryAction": {
            "sqlQuery": "SELECT device, avg(temp) FROM mystore GROUP BY device",
            "filters": [{"deltaTime": {"offsetSeconds": -180,
                                       "timeExpression": "from_unixtime(ts)"}}]}}]
        triggers = [{"schedule": {"expression": "cron(0/15 * * * ? *)"}}]
        rules = [
            {"entryName": "csv", "destination": {"s3DestinationConfiguration": {
                "bucket": "results.bucket-1",
                "key": "dataset/mydataset/!{iotanalytics:scheduleTime}/!{iotanalytics:versionId}.csv",
                "glueConfiguration": {"tableName": "t1", "databaseName": "db1"},
                "roleArn": ROLE}}},
            {"destination": {"iotEventsDestinationConfiguration": {
                "inputName": "myInput_1", "roleArn": ROLE}}},
        ]
        late = [{"ruleName": "late1", "ruleConfiguration": {
            "deltaTimeSessionWindowConfiguration": {"timeoutInMinutes": 15}}}]
        r = self.c.create_dataset(datasetName=name, actions=actions, triggers=triggers,
                                  contentDeliveryRules=rules,
                                  retentionPeriod={"numberOfDays": 7, "unlimited": False},
                                  versioningConfiguration={"maxVersions": 5},
                                  lateDataRules=late, tags=[{"key": "k", "value": "v"}])
        self.assertEqual(r["retentionPeriod"]["numberOfDays"], 7)
        d = self.c.describe_dataset(datasetName=name)["dataset"]
        self.assertEcho(actions, d["actions"])
        self.assertEcho(triggers, d["triggers"])
        self.assertEcho(rules, d["contentDeliveryRules"])
        self.assertEcho(late, d["lateDataRules"])
        self.assertEqual(d["retentionPeriod"]["numberOfDays"], 7)
        self.assertFalse(d["retentionPeriod"].get("unlimited", False))
        self.assertEqual(d["versioningConfiguration"]["maxVersions"], 5)
        self.assertFalse(d["versioningConfiguration"].get("unlimited", False))
        self.assertEqual(self.tags_of(r["datasetArn"]), {"k": "v"})

    def test_container_dataset_and_summaries(self):
        src = unique("sqlsrc")
        name = unique("cont")
        self.c.create_dataset(datasetName=src, actions=sql_actions())
        variables = [
            {"name": "threshold", "doubleValue": 2.5},
            {"name": "label", "stringValue": "hello world!"},
            {"name": "input", "datasetContentVersionValue": {"datasetName": src}},
            {"name": "report", "outputFileUriValue": {"fileName": "report-1.txt"}},
        ]
        actions = container_actions("analyse", variables=variables)
        triggers = [{"dataset": {"name": src}}]
        self.c.create_dataset(datasetName=name, actions=actions, triggers=triggers,
                              versioningConfiguration={"unlimited": True},
                              retentionPeriod={"unlimited": True})
        d = self.c.describe_dataset(datasetName=name)["dataset"]
        self.assertEcho(actions, d["actions"])
        self.assertEqual(d["triggers"], triggers)
        self.assertTrue(d["retentionPeriod"]["unlimited"])
        self.assertTrue(d["versioningConfiguration"]["unlimited"])

        summaries = {s["datasetName"]: s for s in
                     self.c.list_datasets(maxResults=250)["datasetSummaries"]}
        self.assertEqual(summaries[src]["actions"], [{"actionName": "q1", "actionType": "QUERY"}])
        self.assertEqual(summaries[name]["actions"],
                         [{"actionName": "analyse", "actionType": "CONTAINER"}])
        self.assertEqual(summaries[name]["triggers"], triggers)
        self.assertEqual(summaries[src]["triggers"], [])
        self.assertEqual(summaries[name]["status"], "ACTIVE")
        self.assertEqual(summaries[name]["creationTime"], d["creationTime"])
        self.assertGreaterEqual(epoch(summaries[name]["lastUpdateTime"]),
                                epoch(summaries[name]["creationTime"]))

    def test_update(self):
        name = unique("dset")
        self.c.create_dataset(datasetName=name, actions=sql_actions())
        first = self.c.describe_dataset(datasetName=name)["dataset"]
        actions = sql_actions("SELECT count(*) FROM mystore", name="counted")
        triggers = [{"schedule": {"expression": "rate(1 hour)"}}]
        r = self.c.update_dataset(datasetName=name, actions=actions, triggers=triggers,
                                  retentionPeriod={"unlimited": True},
                                  versioningConfiguration={"maxVersions": 3})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        d = self.c.describe_dataset(datasetName=name)["dataset"]
        self.assertEcho(actions, d["actions"])
        self.assertEqual(d["triggers"], triggers)
        self.assertEqual(d["retentionPeriod"], {"unlimited": True})
        self.assertEqual(d["versioningConfiguration"]["maxVersions"], 3)
        self.assertEqual(d["creationTime"], first["creationTime"])
        self.assertGreaterEqual(epoch(d["lastUpdateTime"]), epoch(first["lastUpdateTime"]))
        self.assertError("ResourceNotFoundException", self.c.update_dataset,
                         datasetName=unique("nope"), actions=actions)
        self.assertError("InvalidRequestException", self.nv.update_dataset, datasetName=name,
                         actions=[])
        self.assertEcho(actions, self.c.describe_dataset(datasetName=name)["dataset"]["actions"])

    def test_delete_and_not_found(self):
        name = unique("dset")
        self.c.create_dataset(datasetName=name, actions=sql_actions())
        self.assertEqual(self.c.delete_dataset(datasetName=name)
                         ["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("ResourceNotFoundException", self.c.describe_dataset, datasetName=name)
        self.assertError("ResourceNotFoundException", self.c.delete_dataset, datasetName=name)

    def test_already_exists(self):
        name = unique("dset")
        self.c.create_dataset(datasetName=name, actions=sql_actions())
        e = self.assertError("ResourceAlreadyExistsException", self.c.create_dataset,
                             datasetName=name, actions=sql_actions())
        self.assertEqual(e.response.get("resourceId"), name)
        self.assertEqual(e.response.get("resourceArn"), self.server.arn("dataset", name))

    def test_valid_schedule_expressions(self):
        exprs = ["cron(0 12 * * ? *)", "cron(0/15 * * * ? *)", "cron(0 12 ? * MON-FRI *)",
                 "cron(0 10 L * ? *)", "cron(0 8 ? * 6#3 *)", "cron(15 10 ? * 6L 2026-2030)",
                 "cron(0 9 1W * ? *)", "cron(5,35 14 * JAN,JUL ? *)", "cron(* * * * ? *)",
                 "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)",
                 "rate(1 day)", "rate(7 days)"]
        for expr in exprs:
            with self.subTest(expr=expr):
                name = unique("sched")
                self.c.create_dataset(datasetName=name, actions=sql_actions(),
                                      triggers=[{"schedule": {"expression": expr}}])
                d = self.c.describe_dataset(datasetName=name)["dataset"]
                self.assertEqual(d["triggers"], [{"schedule": {"expression": expr}}])
                self.c.delete_dataset(datasetName=name)

    def test_invalid_schedule_expressions(self):
        exprs = ["cron(0 12 * * ?)", "cron(0 12 * * * *)", "cron(60 12 * * ? *)",
                 "cron(0 24 * * ? *)", "cron(0 12 32 * ? *)", "cron(0 12 ? * FOO *)",
                 "cron(0 12 ? * 8 *)", "cron(0 12 1 13 ? *)", "cron(0 12 ? ? ? *)",
                 "cron(0 12 * * ? * *)", "rate(0 minutes)", "rate(5 fortnights)",
                 "rate(five minutes)", "rate(2 minute)", "rate(1 minutes)", "every day", "",
                 "cron()"]
        for expr in exprs:
            with self.subTest(expr=expr):
                name = unique("sched")
                self.assertError("InvalidRequestException", self.nv.create_dataset,
                                 datasetName=name, actions=sql_actions(),
                                 triggers=[{"schedule": {"expression": expr}}])
                self.assertError("ResourceNotFoundException", self.c.describe_dataset,
                                 datasetName=name)

    def test_five_trigger_errors(self):
        sql1, sql2 = unique("trig_sql"), unique("trig_sql")
        cont1 = unique("trig_cont")
        self.c.create_dataset(datasetName=sql1, actions=sql_actions())
        self.c.create_dataset(datasetName=sql2, actions=sql_actions())
        self.c.create_dataset(datasetName=cont1, actions=container_actions(),
                              triggers=[{"dataset": {"name": sql1}}])
        schedule = {"schedule": {"expression": "cron(0 12 * * ? *)"}}

        def expect(text, **kwargs):
            name = kwargs.setdefault("datasetName", unique("trig_new"))
            e = self.assertError("InvalidRequestException", self.c.create_dataset, **kwargs)
            self.assertEqual(e.response["Error"]["Message"], text)
            self.assertError("ResourceNotFoundException", self.c.describe_dataset,
                             datasetName=name)

        expect("Triggering dataset can only be added on a container dataset",
               actions=sql_actions(), triggers=[{"dataset": {"name": sql1}}])
        expect("There can only be one triggering dataset", actions=container_actions(),
               triggers=[{"dataset": {"name": sql1}}, {"dataset": {"name": sql2}}])
        expect(f"The triggering dataset {cont1} cannot be triggered by a container dataset",
               actions=container_actions(), triggers=[{"dataset": {"name": cont1}}])
        expect("Exactly one trigger type should be provided", actions=container_actions(),
               triggers=[schedule, {"dataset": {"name": sql1}}])

        # The same rule through UpdateDataset; the dataset is unchanged.
        e = self.assertError("InvalidRequestException", self.c.update_dataset,
                             datasetName=sql2, actions=sql_actions(),
                             triggers=[{"dataset": {"name": sql1}}])
        self.assertEqual(e.response["Error"]["Message"],
                         "Triggering dataset can only be added on a container dataset")
        self.assertEqual(self.c.describe_dataset(datasetName=sql2)["dataset"]["triggers"], [])

        # A SQL dataset may trigger at most 10 container datasets.
        hub = unique("trig_hub")
        self.c.create_dataset(datasetName=hub, actions=sql_actions())
        dependents = []
        for _ in range(10):
            dep = unique("trig_dep")
            self.c.create_dataset(datasetName=dep, actions=container_actions(),
                                  triggers=[{"dataset": {"name": hub}}])
            dependents.append(dep)
        expect(f"10 datasets are already dependent on {hub} dataset.",
               actions=container_actions(), triggers=[{"dataset": {"name": hub}}])
        # Freeing a slot makes room again.
        self.c.delete_dataset(datasetName=dependents.pop())
        extra = unique("trig_dep")
        self.c.create_dataset(datasetName=extra, actions=container_actions(),
                              triggers=[{"dataset": {"name": hub}}])
        expect(f"10 datasets are already dependent on {hub} dataset.",
               actions=container_actions(), triggers=[{"dataset": {"name": hub}}])
        # Repointing an existing container dataset at the full hub is refused as well.
        e = self.assertError("InvalidRequestException", self.c.update_dataset,
                             datasetName=cont1, actions=container_actions(),
                             triggers=[{"dataset": {"name": hub}}])
        self.assertEqual(e.response["Error"]["Message"],
                         f"10 datasets are already dependent on {hub} dataset.")
        self.assertEqual(self.c.describe_dataset(datasetName=cont1)["dataset"]["triggers"],
                         [{"dataset": {"name": sql1}}])

    def test_validation(self):
        long_vars = [{"name": f"v{i}", "stringValue": "x"} for i in range(51)]
        delta = {"actionName": "q", "queryAction": {"sqlQuery": "SELECT 1", "filters": [
            {"deltaTime": {"offsetSeconds": 0, "timeExpression": "ts"}}]}}
        s3 = lambda **kw: [{"destination": {"s3DestinationConfiguration": {
            **{"bucket": "my-bucket", "key": "k.csv", "roleArn": ROLE}, **kw}}}]
        cases = {
            "no actions": {"actions": []},
            "two actions": {"actions": sql_actions() + sql_actions(name="q2")},
            "both action kinds": {"actions": [{"actionName": "a",
                                               "queryAction": {"sqlQuery": "SELECT 1"},
                                               **container_actions()[0]}]},
            "no action kind": {"actions": [{"actionName": "a"}]},
            "bad action name": {"actions": sql_actions(name="bad-name")},
            "volume 0": {"actions": container_actions(resourceConfiguration={
                "computeType": "ACU_1", "volumeSizeInGB": 0})},
            "volume 51": {"actions": container_actions(resourceConfiguration={
                "computeType": "ACU_1", "volumeSizeInGB": 51})},
            "compute type": {"actions": container_actions(resourceConfiguration={
                "computeType": "ACU_3", "volumeSizeInGB": 1})},
            "image too long": {"actions": container_actions(image="i" * 256)},
            "short role": {"actions": container_actions(executionRoleArn="arn:aws:iam::1:r")},
            "51 variables": {"actions": container_actions(variables=long_vars)},
            "long string value": {"actions": container_actions(variables=[
                {"name": "v", "stringValue": "s" * 1025}])},
            "two variable values": {"actions": container_actions(variables=[
                {"name": "v", "stringValue": "s", "doubleValue": 1.0}])},
            "bad output file name": {"actions": container_actions(variables=[
                {"name": "v", "outputFileUriValue": {"fileName": "a/b"}}])},
            "two filters": {"actions": [{"actionName": "q", "queryAction": {
                "sqlQuery": "SELECT 1", "filters": delta["queryAction"]["filters"] * 2}}]},
            "six triggers": {"actions": sql_actions(), "triggers": [
                {"schedule": {"expression": "rate(1 day)"}}] * 6},
            "both trigger kinds in one": {"actions": container_actions(), "triggers": [
                {"schedule": {"expression": "rate(1 day)"}, "dataset": {"name": "x"}}]},
            "retention 0": {"actions": sql_actions(), "retentionPeriod": {"numberOfDays": 0}},
            "versions 0": {"actions": sql_actions(), "versioningConfiguration": {"maxVersions": 0}},
            "versions 1001": {"actions": sql_actions(),
                              "versioningConfiguration": {"maxVersions": 1001}},
            "versions both": {"actions": sql_actions(),
                              "versioningConfiguration": {"unlimited": True, "maxVersions": 3}},
            "late rule without delta": {"actions": sql_actions(), "lateDataRules": [
                {"ruleConfiguration": {"deltaTimeSessionWindowConfiguration": {
                    "timeoutInMinutes": 5}}}]},
            "late timeout 61": {"actions": [delta], "lateDataRules": [
                {"ruleConfiguration": {"deltaTimeSessionWindowConfiguration": {
                    "timeoutInMinutes": 61}}}]},
            "two late rules": {"actions": [delta], "lateDataRules": [
                {"ruleConfiguration": {"deltaTimeSessionWindowConfiguration": {
                    "timeoutInMinutes": 5}}}] * 2},
            "21 delivery rules": {"actions": sql_actions(), "contentDeliveryRules": s3() * 21},
            "short bucket": {"actions": sql_actions(), "contentDeliveryRules": s3(bucket="ab")},
            "bad key": {"actions": sql_actions(), "contentDeliveryRules": s3(key="a key")},
            "empty glue db": {"actions": sql_actions(), "contentDeliveryRules": s3(
                glueConfiguration={"tableName": "t", "databaseName": ""})},
            "bad events input": {"actions": sql_actions(), "contentDeliveryRules": [
                {"destination": {"iotEventsDestinationConfiguration": {
                    "inputName": "1abc", "roleArn": ROLE}}}]},
            "no destination": {"actions": sql_actions(), "contentDeliveryRules": [
                {"entryName": "e", "destination": {}}]},
        }
        for label, kwargs in cases.items():
            with self.subTest(case=label):
                name = unique("badset")
                self.assertError("InvalidRequestException", self.nv.create_dataset,
                                 datasetName=name, **kwargs)
                self.assertError("ResourceNotFoundException", self.c.describe_dataset,
                                 datasetName=name)
        for bad in ("d-1", "z" * 129, "__d"):
            with self.subTest(name=bad):
                self.assertError("InvalidRequestException", self.nv.create_dataset,
                                 datasetName=bad, actions=sql_actions(), contains="datasetName")


# =====================================================================================
class TagsTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ch = unique("tch")
        cls.ds = unique("tds")
        cls.c.create_channel(channelName=cls.ch)
        cls.c.create_datastore(datastoreName=cls.ds)

    def make(self, kind, tags):
        name = unique(f"t{kind}")
        kw = {"tags": tags} if tags else {}
        if kind == "channel":
            self.c.create_channel(channelName=name, **kw)
        elif kind == "datastore":
            self.c.create_datastore(datastoreName=name, **kw)
        elif kind == "pipeline":
            self.c.create_pipeline(pipelineName=name,
                                   pipelineActivities=simple_activities(self.ch, self.ds), **kw)
        else:
            self.c.create_dataset(datasetName=name, actions=sql_actions(), **kw)
        return name, self.server.arn(kind, name)

    def test_tag_lifecycle_on_every_resource_type(self):
        for kind in ("channel", "datastore", "pipeline", "dataset"):
            with self.subTest(kind=kind):
                _, arn = self.make(kind, [{"key": "a", "value": "1"}, {"key": "b c", "value": "2"}])
                self.assertEqual(self.tags_of(arn), {"a": "1", "b c": "2"})
                r = self.c.tag_resource(resourceArn=arn, tags=[
                    {"key": "a", "value": "overwritten"}, {"key": "new/key=+", "value": "3 4"}])
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
                self.assertEqual(self.tags_of(arn),
                                 {"a": "overwritten", "b c": "2", "new/key=+": "3 4"})
                r = self.c.untag_resource(resourceArn=arn, tagKeys=["b c", "new/key=+"])
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
                self.assertEqual(self.tags_of(arn), {"a": "overwritten"})
                self.c.untag_resource(resourceArn=arn, tagKeys=["a"])
                self.assertEqual(self.c.list_tags_for_resource(resourceArn=arn)["tags"], [])

    def test_tags_go_away_with_the_resource(self):
        name, arn = self.make("channel", [{"key": "old", "value": "x"}])
        self.c.delete_channel(channelName=name)
        self.assertError("ResourceNotFoundException", self.c.list_tags_for_resource,
                         resourceArn=arn)
        self.c.create_channel(channelName=name)
        self.assertEqual(self.c.list_tags_for_resource(resourceArn=arn)["tags"], [])

    def test_errors(self):
        missing = self.server.arn("channel", unique("missing"))
        tags = [{"key": "a", "value": "b"}]
        self.assertError("ResourceNotFoundException", self.c.list_tags_for_resource,
                         resourceArn=missing)
        self.assertError("ResourceNotFoundException", self.c.tag_resource, resourceArn=missing,
                         tags=tags)
        self.assertError("ResourceNotFoundException", self.c.untag_resource,
                         resourceArn=missing, tagKeys=["a"])
        for bad in ("bogus", "arn:aws:iotanalytics:us-east-1:123456789012:widget/thing"):
            with self.subTest(arn=bad):
                self.assertError("InvalidRequestException", self.nv.list_tags_for_resource,
                                 resourceArn=bad, contains="resourceArn")
                self.assertError("InvalidRequestException", self.nv.tag_resource,
                                 resourceArn=bad, tags=tags, contains="resourceArn")
        _, arn = self.make("channel", tags)
        too_many = [{"key": f"k{i}", "value": "v"} for i in range(51)]
        self.assertError("InvalidRequestException", self.nv.tag_resource, resourceArn=arn,
                         tags=too_many, contains="tags")
        self.assertError("InvalidRequestException", self.nv.tag_resource, resourceArn=arn,
                         tags=[], contains="tags")
        self.assertError("InvalidRequestException", self.nv.tag_resource, resourceArn=arn,
                         tags=[{"key": "k", "value": ""}])
        self.assertError("InvalidRequestException", self.nv.untag_resource, resourceArn=arn,
                         tagKeys=[f"k{i}" for i in range(51)], contains="tagKeys")
        self.assertError("InvalidRequestException", self.nv.untag_resource, resourceArn=arn,
                         tagKeys=[], contains="tagKeys")
        self.assertEqual(self.tags_of(arn), {"a": "b"})


# =====================================================================================
class LoggingOptionsTest(E2ETestCase):

    def test_put_and_describe(self):
        # A fresh server has no logging options yet.
        self.assertError("ResourceNotFoundException", self.c.describe_logging_options)
        opts = {"roleArn": ROLE, "level": "ERROR", "enabled": True}
        r = self.c.put_logging_options(loggingOptions=opts)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.c.describe_logging_options()["loggingOptions"], opts)
        opts2 = {"roleArn": ROLE + "2", "level": "ERROR", "enabled": False}
        self.c.put_logging_options(loggingOptions=opts2)
        self.assertEqual(self.c.describe_logging_options()["loggingOptions"], opts2)

        for bad in ({"roleArn": ROLE, "level": "DEBUG", "enabled": True},
                    {"roleArn": "arn:aws:iam::1:r", "level": "ERROR", "enabled": True},
                    {"roleArn": ROLE, "level": "ERROR"},
                    {"level": "ERROR", "enabled": True}):
            with self.subTest(opts=bad):
                self.assertError("InvalidRequestException", self.nv.put_logging_options,
                                 loggingOptions=bad)
        self.assertError("InvalidRequestException", self.nv.put_logging_options)
        self.assertEqual(self.c.describe_logging_options()["loggingOptions"], opts2)


# =====================================================================================
class PaginationTest(E2ETestCase):

    def check_pages(self, list_fn, key, name_key, names):
        pages, token = [], None
        while True:
            kw = {"maxResults": 3}
            if token:
                kw["nextToken"] = token
            r = list_fn(**kw)
            pages.append([s[name_key] for s in r[key]])
            token = r.get("nextToken")
            if not token:
                break
            self.assertLess(len(pages), 10, "pagination does not terminate")
        expected_sizes = [3] * (len(names) // 3) + ([len(names) % 3] if len(names) % 3 else [])
        self.assertEqual([len(p) for p in pages], expected_sizes)
        flat = [n for p in pages for n in p]
        self.assertEqual(len(flat), len(set(flat)), "duplicates across pages")
        self.assertEqual(set(flat), set(names))
        everything = list_fn()
        self.assertNotIn("nextToken", everything)
        self.assertEqual({s[name_key] for s in everything[key]}, set(names))
        self.assertEqual({s[name_key] for s in list_fn(maxResults=250)[key]}, set(names))
        op = list_fn.__name__
        paged = self.c.get_paginator(op).paginate(PaginationConfig={"PageSize": 2})
        self.assertEqual(sorted(s[name_key] for page in paged for s in page[key]), sorted(names))
        for bad in (0, 251, -1):
            with self.subTest(op=op, maxResults=bad):
                self.assertError("InvalidRequestException", getattr(self.nv, op),
                                 maxResults=bad, contains="maxResults")
        self.assertError("InvalidRequestException", getattr(self.nv, op),
                         nextToken="not-a-token!!")

    def test_paginate_every_list(self):
        channels = [f"pg_ch_{i}" for i in range(7)]
        for n in channels:
            self.c.create_channel(channelName=n)
        datastores = [f"pg_ds_{i}" for i in range(5)]
        for n in datastores:
            self.c.create_datastore(datastoreName=n)
        pipelines = [f"pg_pl_{i}" for i in range(6)]
        for n in pipelines:
            self.c.create_pipeline(pipelineName=n, pipelineActivities=simple_activities(
                channels[0], datastores[0]))
        datasets = [f"pg_dset_{i}" for i in range(4)]
        for n in datasets:
            self.c.create_dataset(datasetName=n, actions=sql_actions())
        self.check_pages(self.c.list_channels, "channelSummaries", "channelName", channels)
        self.check_pages(self.c.list_datastores, "datastoreSummaries", "datastoreName",
                         datastores)
        self.check_pages(self.c.list_pipelines, "pipelineSummaries", "pipelineName", pipelines)
        self.check_pages(self.c.list_datasets, "datasetSummaries", "datasetName", datasets)


# =====================================================================================
class ConfiguredLimitsTest(E2ETestCase):
    server_args = ["--max-channels", "2", "--max-datastores", "2", "--max-pipelines", "2",
                   "--max-datasets", "2"]

    def test_limits(self):
        c = self.c
        creators = {
            "channel": (lambda n: c.create_channel(channelName=n),
                        lambda n: c.describe_channel(channelName=n),
                        lambda n: c.delete_channel(channelName=n)),
            "datastore": (lambda n: c.create_datastore(datastoreName=n),
                          lambda n: c.describe_datastore(datastoreName=n),
                          lambda n: c.delete_datastore(datastoreName=n)),
            "pipeline": (lambda n: c.create_pipeline(
                pipelineName=n, pipelineActivities=simple_activities("lim_ch_0", "lim_ds_0")),
                lambda n: c.describe_pipeline(pipelineName=n),
                lambda n: c.delete_pipeline(pipelineName=n)),
            "dataset": (lambda n: c.create_dataset(datasetName=n, actions=sql_actions()),
                        lambda n: c.describe_dataset(datasetName=n),
                        lambda n: c.delete_dataset(datasetName=n)),
        }
        prefix = {"channel": "lim_ch", "datastore": "lim_ds", "pipeline": "lim_pl",
                  "dataset": "lim_dset"}
        for kind in ("channel", "datastore", "pipeline", "dataset"):
            with self.subTest(kind=kind):
                create, describe, delete = creators[kind]
                p = prefix[kind]
                create(f"{p}_0")
                create(f"{p}_1")
                self.assertError("LimitExceededException", create, f"{p}_2")
                self.assertError("ResourceNotFoundException", describe, f"{p}_2")
                delete(f"{p}_1")
                create(f"{p}_2")
                describe(f"{p}_2")
                self.assertError("LimitExceededException", create, f"{p}_3")


class DefaultLimitsTest(E2ETestCase):
    """AWS's default quotas: 50 channels, 25 datastores, 100 pipelines, 100 datasets."""

    def fill(self, create, count):
        for i in range(count):
            create(i)
        self.assertError("LimitExceededException", create, count)

    def test_default_quotas(self):
        c = self.c
        self.fill(lambda i: c.create_channel(channelName=f"q_ch_{i}"), 50)
        self.fill(lambda i: c.create_datastore(datastoreName=f"q_ds_{i}"), 25)
        self.fill(lambda i: c.create_pipeline(
            pipelineName=f"q_pl_{i}", pipelineActivities=simple_activities("q_ch_0", "q_ds_0")),
            100)
        self.fill(lambda i: c.create_dataset(datasetName=f"q_dset_{i}", actions=sql_actions()),
                  100)
        self.assertEqual(len(c.list_channels(maxResults=250)["channelSummaries"]), 50)
        self.assertEqual(len(c.list_datastores(maxResults=250)["datastoreSummaries"]), 25)
        self.assertEqual(len(c.list_pipelines(maxResults=250)["pipelineSummaries"]), 100)
        self.assertEqual(len(c.list_datasets(maxResults=250)["datasetSummaries"]), 100)


# =====================================================================================
class DataPlaneNotYetAvailableTest(E2ETestCase):

    def test_data_plane_operations_say_not_available(self):
        c = self.c
        c.create_channel(channelName="dp_ch")
        c.create_datastore(datastoreName="dp_ds")
        c.create_pipeline(pipelineName="dp_pl",
                          pipelineActivities=simple_activities("dp_ch", "dp_ds"))
        c.create_dataset(datasetName="dp_dset", actions=sql_actions("SELECT * FROM dp_ds"))
        calls = {
            "CreateDatasetContent": lambda: c.create_dataset_content(datasetName="dp_dset"),
            "GetDatasetContent": lambda: c.get_dataset_content(datasetName="dp_dset"),
            "ListDatasetContents": lambda: c.list_dataset_contents(datasetName="dp_dset"),
            "DeleteDatasetContent": lambda: c.delete_dataset_content(datasetName="dp_dset"),
        }
        for op, call in calls.items():
            with self.subTest(op=op):
                with self.assertRaises(ClientError) as cm:
                    call()
                resp = cm.exception.response
                self.assertEqual(resp["Error"]["Code"], "InvalidRequestException", resp)
                self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 400)
                self.assertIn("not available", resp["Error"]["Message"].lower())
        # Nothing changed as a side effect.
        p = c.describe_pipeline(pipelineName="dp_pl")["pipeline"]
        self.assertEqual(p.get("reprocessingSummaries", []), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
