"""Messages in: BatchPutMessage into durable channels, SampleChannelData, channel statistics.

Bad input gets AWS-style errors (whole call) or batchPutMessageErrorEntries (per message),
never a silent drop. A kill -9 while messages are being put loses nothing acknowledged
and stores nothing twice (checked with `sluice dump-channel` on the stopped data dir).
"""

import base64
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server  # noqa: E402


def msg(i, body=None):
    return {"messageId": str(i), "payload": json.dumps(body or {"n": i, "temp": 20 + i}).encode()}


def dump_channel(server, channel):
    out = subprocess.run([harness.sluice_binary(), "dump-channel", "--data-dir", server.data_dir,
                          "--channel", channel], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("dump-channel failed: " + out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class IngestTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.c = cls.server.client()
        cls.nv = cls.server.client(validate=False)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    def assertCode(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response

    def put_raw(self, body):
        status, headers, data = self.server.signed("POST", "/messages/batch",
                                                   json.dumps(body).encode())
        return status, json.loads(data or b"{}")

    def test_put_then_sample(self):
        self.c.create_channel(channelName="in_basic")
        r = self.c.batch_put_message(channelName="in_basic", messages=[msg(i) for i in range(25)])
        self.assertEqual(r["batchPutMessageErrorEntries"], [])
        s = self.c.sample_channel_data(channelName="in_basic")["payloads"]
        self.assertEqual(len(s), 10)
        got = [json.loads(p)["n"] for p in s]
        self.assertEqual(got, list(range(15, 25)), "the most recent messages, in order")
        s3 = self.c.sample_channel_data(channelName="in_basic", maxMessages=3)["payloads"]
        self.assertEqual([json.loads(p)["n"] for p in s3], [22, 23, 24])

    def test_statistics_and_arrival_time(self):
        self.c.create_channel(channelName="in_stats")
        d0 = self.c.describe_channel(channelName="in_stats", includeStatistics=True)
        self.assertEqual(d0["statistics"]["size"]["estimatedSizeInBytes"], 0)
        self.assertNotIn("lastMessageArrivalTime", d0["channel"])
        self.c.batch_put_message(channelName="in_stats", messages=[msg(i) for i in range(10)])
        d1 = self.c.describe_channel(channelName="in_stats", includeStatistics=True)
        self.assertGreater(d1["statistics"]["size"]["estimatedSizeInBytes"], 10 * 20)
        self.assertIn("lastMessageArrivalTime", d1["channel"])

    def test_sample_time_window(self):
        self.c.create_channel(channelName="in_window")
        self.c.batch_put_message(channelName="in_window", messages=[msg(1)])
        t = self.c.describe_channel(channelName="in_window")["channel"]["lastMessageArrivalTime"]
        import datetime
        before = t - datetime.timedelta(seconds=1)
        after = t + datetime.timedelta(seconds=1)
        self.assertEqual(len(self.c.sample_channel_data(
            channelName="in_window", startTime=before, endTime=after)["payloads"]), 1)
        self.assertEqual(self.c.sample_channel_data(
            channelName="in_window", startTime=after)["payloads"], [])
        self.assertEqual(self.c.sample_channel_data(
            channelName="in_window", endTime=before)["payloads"], [])
        self.assertCode("InvalidRequestException", self.nv.sample_channel_data,
                        channelName="in_window", startTime=after, endTime=before)
        for bad in (0, 11):
            self.assertCode("InvalidRequestException", self.nv.sample_channel_data,
                            channelName="in_window", maxMessages=bad)
        self.assertCode("ResourceNotFoundException", self.c.sample_channel_data,
                        channelName="in_missing")

    def test_whole_call_errors(self):
        self.c.create_channel(channelName="in_bad")
        self.assertCode("ResourceNotFoundException", self.c.batch_put_message,
                        channelName="in_nochannel", messages=[msg(1)])
        r = self.assertCode("InvalidRequestException", self.nv.batch_put_message,
                            channelName="in_bad", messages=[])
        self.assertIn("messages", r["Error"]["Message"])
        r = self.assertCode("InvalidRequestException", self.nv.batch_put_message,
                            channelName="in_bad", messages=[msg(i) for i in range(101)])
        self.assertIn("101", r["Error"]["Message"])
        r = self.assertCode("InvalidRequestException", self.nv.batch_put_message,
                            channelName="in_bad", messages=[{"messageId": "", "payload": b"{}"}])
        self.assertIn("messageId", r["Error"]["Message"])
        r = self.assertCode("InvalidRequestException", self.nv.batch_put_message,
                            channelName="in_bad", messages=[{"messageId": "x" * 129,
                                                             "payload": b"{}"}])
        self.assertIn("messageId", r["Error"]["Message"])
        r = self.assertCode("InvalidRequestException", self.nv.batch_put_message,
                            channelName="bad-name", messages=[msg(1)])
        self.assertIn("channelName", r["Error"]["Message"])
        # Malformed JSON body, and a payload that is not a string.
        status, headers, data = self.server.signed("POST", "/messages/batch", b"{not json")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(data)["__type"], "InvalidRequestException")
        status, body = self.put_raw({"channelName": "in_bad",
                                     "messages": [{"messageId": "1", "payload": 5}]})
        self.assertEqual(status, 400)
        self.assertIn("payload", body["message"])
        # None of that stored anything.
        self.assertEqual(self.c.sample_channel_data(channelName="in_bad")["payloads"], [])

    def test_per_message_errors_accept_the_rest(self):
        self.c.create_channel(channelName="in_partial")
        big = base64.b64encode(b'{"x":"' + b"a" * (129 * 1024) + b'"}').decode()
        ok1 = base64.b64encode(b'{"ok": 1}').decode()
        ok2 = base64.b64encode(b'{"ok": 2}').decode()
        status, body = self.put_raw({"channelName": "in_partial", "messages": [
            {"messageId": "a", "payload": ok1},
            {"messageId": "a", "payload": ok2},               # duplicate id
            {"messageId": "b", "payload": "***not base64***"},  # undecodable
            {"messageId": "c", "payload": big},                # 129 KB
            {"messageId": "d", "payload": base64.b64encode(b'{"temp-01": 1}').decode()},
            {"messageId": "e", "payload": ok2},
        ]})
        self.assertEqual(status, 200, body)
        errs = {e["messageId"]: e for e in body["batchPutMessageErrorEntries"]}
        self.assertEqual(sorted(errs), ["a", "b", "c", "d"])
        for e in errs.values():
            self.assertTrue(e["errorCode"])
            self.assertTrue(e["errorMessage"])
        self.assertIn("more than once", errs["a"]["errorMessage"])
        self.assertIn("base64", errs["b"]["errorMessage"])
        self.assertIn("131072", errs["c"]["errorMessage"])
        self.assertIn("temp-01", errs["d"]["errorMessage"])
        got = [json.loads(p) for p in self.c.sample_channel_data(channelName="in_partial")["payloads"]]
        self.assertEqual(got, [{"ok": 1}, {"ok": 2}])

    def test_binary_payload_is_accepted(self):
        self.c.create_channel(channelName="in_binary")
        r = self.c.batch_put_message(channelName="in_binary", messages=[
            {"messageId": "1", "payload": bytes(range(256))}])
        self.assertEqual(r["batchPutMessageErrorEntries"], [])
        self.assertEqual(self.c.sample_channel_data(channelName="in_binary")["payloads"],
                         [bytes(range(256))])

    def test_deleted_channel_data_does_not_reappear(self):
        self.c.create_channel(channelName="in_reborn")
        self.c.batch_put_message(channelName="in_reborn", messages=[msg(1)])
        self.c.delete_channel(channelName="in_reborn")
        self.assertCode("ResourceNotFoundException", self.c.batch_put_message,
                        channelName="in_reborn", messages=[msg(2)])
        self.c.create_channel(channelName="in_reborn")
        self.assertEqual(self.c.sample_channel_data(channelName="in_reborn")["payloads"], [])


class IngestCrashTest(unittest.TestCase):

    def test_kill9_while_putting_loses_nothing_acknowledged(self):
        server = Server().start()
        try:
            c = server.client()
            c.create_channel(channelName="crash_ch")
            acked, lock = [], threading.Lock()
            stop = threading.Event()
            enough = threading.Event()

            def writer(w):
                cl = server.client()
                b = 0
                while not stop.is_set():
                    batch = [{"messageId": f"{w}-{b}-{i}",
                              "payload": json.dumps({"w": w, "b": b, "i": i}).encode()}
                             for i in range(50)]
                    try:
                        r = cl.batch_put_message(channelName="crash_ch", messages=batch)
                    except (ClientError, BotoCoreError):
                        return
                    if r["batchPutMessageErrorEntries"]:
                        raise AssertionError(r)
                    with lock:
                        acked.extend(m["messageId"] for m in batch)
                        if len(acked) >= 2000:
                            enough.set()
                    b += 1

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            self.assertTrue(enough.wait(60), "writers did not get 2000 messages acknowledged")
            server.kill9()
            stop.set()
            for t in threads:
                t.join(30)
            with lock:
                acknowledged = list(acked)
            stored = dump_channel(server, "crash_ch")
            ids = [json.loads(base64.b64decode(m["payload"]))for m in stored]
            keys = [f'{p["w"]}-{p["b"]}-{p["i"]}' for p in ids]
            self.assertEqual(len(keys), len(set(keys)), "a message was stored twice")
            missing = set(acknowledged) - set(keys)
            self.assertEqual(missing, set(), "acknowledged messages lost")
            offsets = [m["offset"] for m in stored]
            self.assertEqual(offsets, list(range(len(offsets))), "offsets are dense and ordered")
            # The server comes back and keeps appending after the recovered end.
            server.start()
            c = server.client()
            c.batch_put_message(channelName="crash_ch", messages=[msg(99999)])
            server.stop_clean()
            stored2 = dump_channel(server, "crash_ch")
            self.assertEqual(len(stored2), len(stored) + 1)
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
