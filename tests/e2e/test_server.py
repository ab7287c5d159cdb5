"""End-to-end tests of the `sluice serve` process and its HTTP front door.

--help documents every flag with its environment variable; flags and environment
variables configure region, account and quotas; a port already in use is a clean startup
error; many concurrent connections are served; concurrent creates of one name or racing
a quota are resolved exactly; oversized bodies and stalled requests are cut off without
side effects and without hurting the server.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server, sign  # noqa: E402

FLAGS = ["--data-dir", "--listen", "--region", "--account-id", "--max-channels",
         "--max-datastores", "--max-pipelines", "--max-datasets"]


def run_threads(n, target):
    """Runs target(i) in n threads released together; returns the results by index."""
    results = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        try:
            results[i] = target(i)
        except (ClientError, BotoCoreError, OSError) as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a client thread hung"
    return results


def code_of(result):
    if isinstance(result, ClientError):
        return result.response["Error"]["Code"]
    if isinstance(result, Exception):
        return repr(result)
    return "OK"


class ProcessTest(unittest.TestCase):

    def test_help_documents_every_flag_and_its_environment_variable(self):
        p = subprocess.run([harness.sluice_binary(), "serve", "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, env=harness.clean_env())
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        lines = text.splitlines()
        for flag in FLAGS:
            with self.subTest(flag=flag):
                mentions = [l for l in lines if flag in l.split()]
                self.assertTrue(mentions, f"{flag} is not documented:\n{text}")
                self.assertTrue(any("SLUICE_" in l for l in mentions),
                                f"{flag} has no environment variable in --help:\n{text}")
        for word in ("SLUICE_ACCESS_KEY_ID", "SLUICE_SECRET_ACCESS_KEY", "SIGTERM"):
            self.assertIn(word, text)

    def test_region_account_and_quota_from_flags(self):
        server = Server(extra_args=["--region", "eu-west-1", "--account-id", "210987654321",
                                    "--max-channels", "1"])
        try:
            server.start()
            c = server.client(region="eu-west-1")
            r = c.create_channel(channelName="first")
            self.assertEqual(r["channelArn"], "arn:aws:iotanalytics:eu-west-1:210987654321:channel/first")
            with self.assertRaises(ClientError) as cm:
                c.create_channel(channelName="second")
            self.assertEqual(cm.exception.response["Error"]["Code"], "LimitExceededException")
            server.stop_clean()
        finally:
            server.close()

    def test_region_account_and_quota_from_environment(self):
        server = Server(extra_env={"SLUICE_REGION": "ap-south-1",
                                   "SLUICE_ACCOUNT_ID": "111122223333",
                                   "SLUICE_MAX_DATASTORES": "1"})
        try:
            server.start()
            c = server.client(region="ap-south-1")
            r = c.create_datastore(datastoreName="first")
            self.assertEqual(r["datastoreArn"],
                             "arn:aws:iotanalytics:ap-south-1:111122223333:datastore/first")
            with self.assertRaises(ClientError) as cm:
                c.create_datastore(datastoreName="second")
            self.assertEqual(cm.exception.response["Error"]["Code"], "LimitExceededException")
            server.stop_clean()
        finally:
            server.close()

    def test_port_in_use_is_a_startup_error(self):
        server = Server()
        try:
            server.start()
            with tempfile.TemporaryDirectory() as tmp:
                env = harness.clean_env()
                env.update(SLUICE_ACCESS_KEY_ID=harness.TEST_ACCESS_KEY,
                           SLUICE_SECRET_ACCESS_KEY=harness.TEST_SECRET_KEY)
                p = subprocess.run([harness.sluice_binary(), "serve", "--data-dir",
                                    os.path.join(tmp, "d"), "--listen",
                                    f"127.0.0.1:{server.port}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                                   env=env)
            self.assertNotEqual(p.returncode, 0)
            self.assertNotIn(b"listening on", p.stdout)
            self.assertTrue(p.stderr.strip(), "no error message for a busy port")
            # The first server is unaffected.
            self.assertEqual(server.client().list_channels()["channelSummaries"], [])
            server.stop_clean()
        finally:
            server.close()


class FrontDoorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=["--max-channels", "7", "--max-body-bytes", "4096",
                                        "--request-timeout-seconds", "2"]).start()
        cls.host = f"127.0.0.1:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    def channel_names(self):
        return [s["channelName"] for s in
                self.server.client().list_channels(maxResults=250)["channelSummaries"]]

    def delete_all_channels(self):
        c = self.server.client()
        for n in self.channel_names():
            c.delete_channel(channelName=n)

    def test_many_concurrent_connections(self):
        n = 64
        socks = [socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
                 for _ in range(n)]
        try:
            def one(i):
                path = f"/channels?maxResults={i % 250 + 1}"
                headers = sign("GET", self.host, path)
                req = f"GET {path} HTTP/1.1\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                s = socks[i]
                s.sendall(req.encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data.split(b"\r\n", 1)[0]

            results = run_threads(n, one)
        finally:
            for s in socks:
                s.close()
        self.assertEqual([r for r in results if r != b"HTTP/1.1 200 OK"], [])

    def test_concurrent_creates_of_one_name(self):
        self.delete_all_channels()
        clients = [self.server.client() for _ in range(8)]
        results = run_threads(8, lambda i: clients[i].create_channel(
            channelName="contested", tags=[{"key": "writer", "value": str(i)}]))
        codes = sorted(code_of(r) for r in results)
        self.assertEqual(codes, ["OK"] + ["ResourceAlreadyExistsException"] * 7, results)
        winner = next(i for i, r in enumerate(results) if code_of(r) == "OK")
        tags = clients[0].list_tags_for_resource(
            resourceArn=self.server.arn("channel", "contested"))["tags"]
        self.assertEqual(tags, [{"key": "writer", "value": str(winner)}])
        self.delete_all_channels()

    def test_concurrent_creates_racing_the_quota(self):
        self.delete_all_channels()
        clients = [self.server.client() for _ in range(16)]
        results = run_threads(16, lambda i: clients[i].create_channel(channelName=f"race_{i}"))
        codes = [code_of(r) for r in results]
        self.assertEqual(codes.count("OK"), 7, codes)
        self.assertEqual(codes.count("LimitExceededException"), 9, codes)
        created = {f"race_{i}" for i, code in enumerate(codes) if code == "OK"}
        self.assertEqual(set(self.channel_names()), created)
        self.delete_all_channels()

    def test_oversized_body_is_refused_without_side_effects(self):
        body = json.dumps({"channelName": "too_big", "tags": [
            {"key": f"k{i}", "value": "v" * 250} for i in range(20)]}).encode()
        self.assertGreater(len(body), 4096)
        headers = sign("POST", self.host, "/channels", body)
        try:
            status, hdrs, data = harness.raw_request(self.server.port, "POST", "/channels", body,
                                                     headers)
        except (ConnectionError, OSError) as e:  # closing the connection is a refusal too
            status, hdrs, data = None, {}, repr(e)
        if status is not None:
            self.assertIn(status, (400, 413), data)
            self.assertTrue(hdrs.get("x-amzn-requestid"))
        self.assertNotIn("too_big", self.channel_names())
        # A body under the limit is fine, and the server is healthy.
        small = json.dumps({"channelName": "small_enough"}).encode()
        status, _, data = harness.raw_request(self.server.port, "POST", "/channels", small,
                                              sign("POST", self.host, "/channels", small))
        self.assertEqual(status, 201, data)
        self.server.client().delete_channel(channelName="small_enough")

    def test_stalled_requests_are_cut_off(self):
        cases = [b"GET /_sluice/health HTTP/1.1\r\nHost: x\r\n",
                 b"POST /channels HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\""]
        for partial in cases:
            with self.subTest(partial=partial[:30]):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
                try:
                    s.sendall(partial)
                    t0 = time.monotonic()
                    data = b""
                    while True:  # blocks until the server answers or closes
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    waited = time.monotonic() - t0
                finally:
                    s.close()
                self.assertLess(waited, 15, "stalled request was not cut off")
                self.assertFalse(data.startswith(b"HTTP/1.1 2"), data)
        status, _, data = self.server.raw("GET", "/_sluice/health")
        self.assertEqual(status, 200, data)

    def test_unknown_paths(self):
        status, hdrs, data = self.server.raw("GET", "/_sluice/no-such-thing")
        self.assertEqual(status, 404, data)
        self.assertTrue(hdrs.get("x-amzn-requestid"))
        status, hdrs, data = self.server.signed("GET", "/no/such/operation")
        self.assertIn(status, (400, 404), data)
        self.assertTrue(hdrs.get("x-amzn-requestid"))
        self.assertTrue(hdrs.get("x-amzn-errortype"))
        self.assertEqual(harness.error_code((status, hdrs, data))[0],
                         harness.error_code((status, hdrs, data))[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
