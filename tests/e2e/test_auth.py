"""End-to-end tests of Sluice's SigV4 front door with raw HTTP requests.

Unsigned, malformed, unknown-key, wrong-secret, tampered and clock-skewed requests get
HTTP 403 with the AWS error code a client expects and change nothing (list_channels
proves it after every forged create); presigned query-string requests work; the health
endpoint needs no signature; every response carries x-amzn-RequestId.
"""

import datetime
import http.client
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.auth import SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server, sign, unique  # noqa: E402


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class AuthTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.c = cls.server.client()
        cls.host = f"127.0.0.1:{cls.server.port}"
        cls.request_ids = []

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    # ----- helpers -----

    def send(self, method, path, body=b"", headers=None):
        status, hdrs, data = self.server.raw(method, path, body, headers)
        rid = hdrs.get("x-amzn-requestid")
        self.assertTrue(rid, f"{method} {path} -> {status} without x-amzn-RequestId")
        self.request_ids.append(rid)
        return status, hdrs, data

    def assertDenied(self, response, code):
        status, hdrs, data = response
        self.assertEqual(status, 403, data)
        self.assertEqual(harness.error_code(response), (code, code), (hdrs, data))
        doc = json.loads(data)
        self.assertIsInstance(doc.get("message"), str)
        self.assertTrue(doc["message"])

    def channel_names(self):
        return {s["channelName"] for s in self.c.list_channels(maxResults=250)["channelSummaries"]}

    def assertNotCreated(self, *names):
        existing = self.channel_names()
        for n in names:
            self.assertNotIn(n, existing, f"forged request created {n}")
            with self.assertRaises(ClientError) as cm:
                self.c.describe_channel(channelName=n)
            self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")

    @staticmethod
    def create_body(name):
        return json.dumps({"channelName": name}).encode()

    # ----- tests -----

    def test_health_needs_no_auth(self):
        status, hdrs, data = self.send("GET", "/_sluice/health")
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data), {"status": "ok"})

    def test_correctly_signed_raw_request_works(self):
        # Proves the hand-made signer is right, so the forged cases below are meaningful.
        name = unique("good")
        body = self.create_body(name)
        status, hdrs, data = self.send("POST", "/channels", body,
                                       sign("POST", self.host, "/channels", body))
        self.assertEqual(status, 201, data)
        self.assertEqual(json.loads(data)["channelName"], name)
        self.assertIn(name, self.channel_names())
        status, _, data = self.send("GET", "/channels?maxResults=250",
                                    headers=sign("GET", self.host, "/channels?maxResults=250"))
        self.assertEqual(status, 200, data)
        self.assertIn(name, {s["channelName"] for s in json.loads(data)["channelSummaries"]})

    def test_unsigned_requests(self):
        name = unique("unsigned")
        self.assertDenied(self.send("POST", "/channels", self.create_body(name),
                                    {"Content-Type": "application/json"}),
                          "MissingAuthenticationTokenException")
        self.assertDenied(self.send("GET", "/channels"), "MissingAuthenticationTokenException")
        self.assertNotCreated(name)

    def test_malformed_authorization(self):
        name = unique("garbage")
        body = self.create_body(name)
        good = sign("POST", self.host, "/channels", body)
        cred = good["Authorization"].split("Credential=")[1].split(",")[0]
        for auth in ("garbage",
                     "AWS4-HMAC-SHA256",
                     f"AWS4-HMAC-SHA256 Credential={cred}",
                     f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host;x-amz-date",
                     "AWS4-HMAC-SHA256 Credential=onlykey, SignedHeaders=host, Signature=abcd"):
            with self.subTest(authorization=auth):
                headers = dict(good, Authorization=auth)
                self.assertDenied(self.send("POST", "/channels", body, headers),
                                  "IncompleteSignatureException")
        self.assertNotCreated(name)

    def test_missing_date(self):
        name = unique("nodate")
        body = self.create_body(name)
        headers = sign("POST", self.host, "/channels", body)
        del headers["X-Amz-Date"]
        status, hdrs, data = self.send("POST", "/channels", body, headers)
        self.assertEqual(status, 403, data)
        self.assertIn(harness.error_code((status, hdrs, data))[0],
                      ("IncompleteSignatureException", "InvalidSignatureException"))
        self.assertNotCreated(name)

    def test_unknown_access_key(self):
        name = unique("unknownkey")
        body = self.create_body(name)
        headers = sign("POST", self.host, "/channels", body, access_key="AKIDNOTAREALKEY00000")
        self.assertDenied(self.send("POST", "/channels", body, headers),
                          "UnrecognizedClientException")
        self.assertNotCreated(name)

    def test_wrong_secret(self):
        name = unique("wrongsecret")
        body = self.create_body(name)
        headers = sign("POST", self.host, "/channels", body,
                       secret_key=harness.TEST_SECRET_KEY + "x")
        self.assertDenied(self.send("POST", "/channels", body, headers),
                          "InvalidSignatureException")
        self.assertNotCreated(name)

    def test_tampered_body(self):
        signed_name, sent_name = unique("signedbody"), unique("sentbody")
        signed_body = self.create_body(signed_name)
        sent_body = self.create_body(sent_name)
        headers = sign("POST", self.host, "/channels", signed_body)
        self.assertDenied(self.send("POST", "/channels", sent_body, headers),
                          "InvalidSignatureException")
        # With x-amz-content-sha256 signed too: the header no longer matches the body.
        headers = sign("POST", self.host, "/channels", signed_body, content_sha256_header=True)
        self.assertDenied(self.send("POST", "/channels", sent_body, headers),
                          "InvalidSignatureException")
        self.assertNotCreated(signed_name, sent_name)

    def test_unknown_session_token(self):
        name = unique("token")
        body = self.create_body(name)
        headers = sign("POST", self.host, "/channels", body,
                       extra_headers={"X-Amz-Security-Token": "not-a-session-token"})
        self.assertDenied(self.send("POST", "/channels", body, headers),
                          "UnrecognizedClientException")
        self.assertNotCreated(name)

    def test_tampered_path_and_query(self):
        name = unique("tamperpath")
        self.c.create_channel(channelName=name)
        headers = sign("DELETE", self.host, f"/channels/{name}x")
        self.assertDenied(self.send("DELETE", f"/channels/{name}", headers=headers),
                          "InvalidSignatureException")
        headers = sign("GET", self.host, "/channels?maxResults=1")
        self.assertDenied(self.send("GET", "/channels?maxResults=2", headers=headers),
                          "InvalidSignatureException")
        self.assertIn(name, self.channel_names())

    def test_clock_skew(self):
        for minutes in (-20, 20, -60 * 24):
            with self.subTest(skew_minutes=minutes):
                name = unique("skew")
                body = self.create_body(name)
                when = now() + datetime.timedelta(minutes=minutes)
                headers = sign("POST", self.host, "/channels", body, when=when)
                self.assertDenied(self.send("POST", "/channels", body, headers),
                                  "InvalidSignatureException")
                self.assertNotCreated(name)
        # Within the +-15 minute window the request is accepted.
        for minutes in (-10, 10):
            with self.subTest(skew_minutes=minutes):
                name = unique("skewok")
                body = self.create_body(name)
                headers = sign("POST", self.host, "/channels", body,
                               when=now() + datetime.timedelta(minutes=minutes))
                status, _, data = self.send("POST", "/channels", body, headers)
                self.assertEqual(status, 201, data)
                self.assertIn(name, self.channel_names())

    def test_unsigned_payload_and_content_hash_header(self):
        for mode in ("UNSIGNED-PAYLOAD", None):
            with self.subTest(payload=mode):
                name = unique("payload")
                body = self.create_body(name)
                headers = sign("POST", self.host, "/channels", body,
                               content_sha256_header=True, payload_hash=mode)
                status, _, data = self.send("POST", "/channels", body, headers)
                self.assertEqual(status, 201, data)
                self.assertIn(name, self.channel_names())

    def test_forged_mutations_change_nothing(self):
        name = unique("victim")
        self.c.create_channel(channelName=name, retentionPeriod={"numberOfDays": 5},
                              tags=[{"key": "owner", "value": "me"}])
        arn = self.server.arn("channel", name)
        q_arn = urllib.parse.quote(arn, safe="")
        bad_secret = harness.TEST_SECRET_KEY + "x"
        attempts = [
            ("DELETE", f"/channels/{name}", b""),
            ("PUT", f"/channels/{name}", b'{"retentionPeriod": {"unlimited": true}}'),
            ("POST", f"/tags?resourceArn={q_arn}", b'{"tags": [{"key": "owner", "value": "x"}]}'),
            ("DELETE", f"/tags?resourceArn={q_arn}&tagKeys=owner", b""),
            ("PUT", "/logging", json.dumps({"loggingOptions": {
                "roleArn": "arn:aws:iam::123456789012:role/forged", "level": "ERROR",
                "enabled": True}}).encode()),
        ]
        for method, path, body in attempts:
            with self.subTest(method=method, path=path):
                self.assertDenied(self.send(method, path, body,
                                            {"Content-Type": "application/json"} if body else {}),
                                  "MissingAuthenticationTokenException")
                self.assertDenied(self.send(method, path, body,
                                            sign(method, self.host, path, body,
                                                 secret_key=bad_secret)),
                                  "InvalidSignatureException")
        ch = self.c.describe_channel(channelName=name)["channel"]
        self.assertEqual(ch["retentionPeriod"]["numberOfDays"], 5)
        tags = self.c.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(tags, [{"key": "owner", "value": "me"}])
        try:
            opts = self.c.describe_logging_options().get("loggingOptions", {})
        except ClientError as e:  # never set: that is fine too
            self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
            opts = {}
        self.assertNotEqual(opts.get("roleArn"), "arn:aws:iam::123456789012:role/forged")

    def presign(self, path, expires=300, access_key=None, secret_key=None):
        req = AWSRequest(method="GET", url=f"{self.server.endpoint}{path}")
        creds = Credentials(access_key or self.server.access_key,
                            secret_key or self.server.secret_key)
        SigV4QueryAuth(creds, "iotanalytics", harness.REGION, expires=expires).add_auth(req)
        split = urllib.parse.urlsplit(req.url)
        self.assertIn("X-Amz-Signature=", split.query)
        return f"{split.path}?{split.query}"

    def test_presigned_query_auth(self):
        name = unique("presigned")
        self.c.create_channel(channelName=name)
        url = self.presign("/channels?maxResults=250")
        status, hdrs, data = self.send("GET", url)
        self.assertEqual(status, 200, data)
        self.assertIn(name, {s["channelName"] for s in json.loads(data)["channelSummaries"]})

        status, _, data = self.send("GET", self.presign(f"/channels/{name}"))
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["channel"]["name"], name)

        # A changed signature, a changed parameter, a wrong secret, an unknown key.
        sig_tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
        self.assertDenied(self.send("GET", sig_tampered), "InvalidSignatureException")
        self.assertDenied(self.send("GET", url.replace("maxResults=250", "maxResults=249")),
                          "InvalidSignatureException")
        self.assertDenied(self.send("GET", self.presign("/channels", secret_key="nope" * 10)),
                          "InvalidSignatureException")
        self.assertDenied(self.send("GET", self.presign("/channels",
                                                        access_key="AKIDNOTAREALKEY00000")),
                          "UnrecognizedClientException")

    def test_boto3_with_bad_credentials(self):
        for key, secret, code in (
                (harness.TEST_ACCESS_KEY, "wrong-secret", "InvalidSignatureException"),
                ("AKIDNOTAREALKEY00000", harness.TEST_SECRET_KEY, "UnrecognizedClientException")):
            with self.subTest(code=code):
                name = unique("botobad")
                bad = self.server.client(access_key=key, secret_key=secret)
                with self.assertRaises(ClientError) as cm:
                    bad.create_channel(channelName=name)
                self.assertEqual(cm.exception.response["Error"]["Code"], code)
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
                self.assertTrue(cm.exception.response["ResponseMetadata"].get("RequestId"))
                self.assertNotCreated(name)

    def test_keep_alive_and_unique_request_ids(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            ids, sock = [], None
            for i in range(5):
                path = f"/channels?maxResults={i + 1}"
                conn.request("GET", path, headers=sign("GET", self.host, path))
                resp = conn.getresponse()
                data = resp.read()
                self.assertEqual(resp.status, 200, data)
                self.assertNotEqual((resp.getheader("Connection") or "").lower(), "close")
                ids.append(resp.getheader("x-amzn-RequestId"))
                if sock is None:
                    sock = conn.sock
                self.assertIs(conn.sock, sock, "server closed a keep-alive connection")
            # An unauthenticated request on the same connection is answered too.
            conn.request("GET", "/_sluice/health")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            ids.append(resp.getheader("x-amzn-RequestId"))
            resp.read()
        finally:
            conn.close()
        self.assertTrue(all(ids), ids)
        self.assertEqual(len(set(ids)), len(ids), "request ids repeat")
        self.assertEqual(len(set(self.request_ids)), len(self.request_ids), "request ids repeat")


if __name__ == "__main__":
    unittest.main(verbosity=2)
