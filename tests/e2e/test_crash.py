"""Durability and lifecycle tests of the real `sluice` binary.

kill -9 while creates are in flight: every acknowledged create is complete after the
restart (describe + tags), every unacknowledged one is either complete or absent, and
nothing else appears. Updates and deletes acknowledged before a kill -9 are durable.
SIGTERM/SIGINT exit 0 (also with an idle keep-alive connection open), and startup on an
existing data directory is fast (the figure is printed).
"""

import http.client
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/sluice-test-role"
BIG_QUOTAS = ["--max-channels", "5000", "--max-datastores", "5000", "--max-pipelines", "5000",
              "--max-datasets", "5000"]
KINDS = ("channel", "datastore", "pipeline", "dataset")


def sql_actions(query="SELECT * FROM store"):
    return [{"actionName": "q", "queryAction": {"sqlQuery": query}}]


def activities(channel, datastore):
    return [{"channel": {"name": "src", "channelName": channel, "next": "sink"}},
            {"datastore": {"name": "sink", "datastoreName": datastore}}]


def tags_for(kind, name):
    return [{"key": "name", "value": name}, {"key": "kind", "value": kind}]


def create(client, kind, name):
    tags = tags_for(kind, name)
    if kind == "channel":
        client.create_channel(channelName=name, retentionPeriod={"numberOfDays": 7}, tags=tags)
    elif kind == "datastore":
        client.create_datastore(datastoreName=name, retentionPeriod={"numberOfDays": 7},
                                tags=tags)
    elif kind == "pipeline":
        client.create_pipeline(pipelineName=name, pipelineActivities=activities("base_ch",
                                                                                 "base_ds"),
                               tags=tags)
    else:
        client.create_dataset(datasetName=name, actions=sql_actions(f"SELECT '{name}'"),
                              triggers=[{"schedule": {"expression": "rate(1 day)"}}],
                              tags=tags)


def describe(client, kind, name):
    """The resource's describe output, or None when it does not exist."""
    try:
        if kind == "channel":
            return client.describe_channel(channelName=name)["channel"]
        if kind == "datastore":
            return client.describe_datastore(datastoreName=name)["datastore"]
        if kind == "pipeline":
            return client.describe_pipeline(pipelineName=name)["pipeline"]
        return client.describe_dataset(datasetName=name)["dataset"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def list_names(client, kind):
    op, key, field = {
        "channel": ("list_channels", "channelSummaries", "channelName"),
        "datastore": ("list_datastores", "datastoreSummaries", "datastoreName"),
        "pipeline": ("list_pipelines", "pipelineSummaries", "pipelineName"),
        "dataset": ("list_datasets", "datasetSummaries", "datasetName"),
    }[kind]
    names = []
    for page in client.get_paginator(op).paginate(PaginationConfig={"PageSize": 250}):
        names += [s[field] for s in page[key]]
    return names


class CrashTest(unittest.TestCase):

    def setUp(self):
        self.server = Server(extra_args=BIG_QUOTAS)
        self.addCleanup(self.server.close)

    def assertComplete(self, client, kind, name):
        d = describe(client, kind, name)
        self.assertIsNotNone(d, f"acknowledged {kind} {name} is missing after kill -9")
        self.assertEqual(d["name"], name)
        self.assertEqual(d["arn"], self.server.arn(kind, name))
        if kind in ("channel", "datastore"):
            self.assertEqual(d["retentionPeriod"]["numberOfDays"], 7)
        elif kind == "pipeline":
            self.assertEqual(len(d["activities"]), 2)
        else:
            self.assertEqual(d["actions"][0]["queryAction"]["sqlQuery"], f"SELECT '{name}'")
            self.assertEqual(d["triggers"], [{"schedule": {"expression": "rate(1 day)"}}])
        tags = client.list_tags_for_resource(resourceArn=d["arn"])["tags"]
        self.assertEqual(sorted((t["key"], t["value"]) for t in tags),
                         sorted((t["key"], t["value"]) for t in tags_for(kind, name)))

    def test_kill9_while_creates_are_in_flight(self):
        self.server.start()
        c = self.server.client()
        c.create_channel(channelName="base_ch")
        c.create_datastore(datastoreName="base_ds")

        acked = {k: [] for k in KINDS}
        unknown = {k: [] for k in KINDS}
        errors = []
        progress = threading.Condition()

        def writer(kind):
            client = self.server.client()
            i = 0
            while True:  # until the kill makes a create fail
                name = f"{kind}_{i}"
                i += 1
                try:
                    create(client, kind, name)
                except (BotoCoreError, ClientError) as e:
                    # The server went away: this create may or may not have happened.
                    unknown[kind].append(name)
                    if isinstance(e, ClientError):
                        errors.append(f"{kind} {name}: {e}")
                    return
                with progress:
                    acked[kind].append(name)
                    progress.notify_all()

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in KINDS]
        for t in threads:
            t.start()
        target = 120
        deadline = time.monotonic() + 60
        with progress:
            while sum(map(len, acked.values())) < target and time.monotonic() < deadline:
                progress.wait(timeout=1)
        total = sum(map(len, acked.values()))
        # Kill from this thread while the writer threads keep creating.
        self.server.kill9()
        for t in threads:
            t.join(timeout=60)
            self.assertFalse(t.is_alive(), "a writer thread hung after kill -9")
        self.assertGreaterEqual(total, target, "writers were too slow before the kill")
        self.assertEqual(errors, [], "creates failed with service errors before the kill")
        for k in KINDS:
            self.assertEqual(len(unknown[k]), 1, f"{k} writer did not observe the kill")

        self.server.start()
        c = self.server.client()
        present_unknown = 0
        for kind in KINDS:
            for name in acked[kind]:
                self.assertComplete(c, kind, name)
            for name in unknown[kind]:
                if describe(c, kind, name) is None:
                    with self.assertRaises(ClientError) as cm:
                        c.list_tags_for_resource(resourceArn=self.server.arn(kind, name))
                    self.assertEqual(cm.exception.response["Error"]["Code"],
                                     "ResourceNotFoundException")
                else:
                    present_unknown += 1
                    self.assertComplete(c, kind, name)
            expected = set(acked[kind]) | {n for n in unknown[kind]
                                           if describe(c, kind, n) is not None}
            if kind == "channel":
                expected.add("base_ch")
            if kind == "datastore":
                expected.add("base_ds")
            listed = list_names(c, kind)
            self.assertEqual(len(listed), len(set(listed)))
            self.assertEqual(set(listed), expected, f"{kind}: list differs after restart")
        print(f"\n  kill -9 after {total} acknowledged creates; "
              f"{present_unknown}/{len(KINDS)} in-flight creates were committed", flush=True)
        self.server.stop_clean()

    def test_acknowledged_updates_and_deletes_survive_kill9(self):
        self.server.start()
        c = self.server.client()
        c.create_channel(channelName="base_ch")
        c.create_datastore(datastoreName="base_ds")
        for i in range(10):
            create(c, "channel", f"ch_{i}")
        for i in range(4):
            create(c, "dataset", f"dset_{i}")
            create(c, "pipeline", f"pl_{i}")
            create(c, "datastore", f"ds_{i}")
        for i in range(4):
            c.delete_channel(channelName=f"ch_{i}")
        for i in range(4, 7):
            c.update_channel(channelName=f"ch_{i}", retentionPeriod={"unlimited": True})
        c.tag_resource(resourceArn=self.server.arn("channel", "ch_7"),
                       tags=[{"key": "extra", "value": "yes"}, {"key": "kind", "value": "changed"}])
        c.untag_resource(resourceArn=self.server.arn("channel", "ch_8"), tagKeys=["name"])
        c.delete_dataset(datasetName="dset_0")
        c.update_dataset(datasetName="dset_1", actions=sql_actions("SELECT 42"))
        new_acts = [{"channel": {"name": "src", "channelName": "base_ch", "next": "f"}},
                    {"filter": {"name": "f", "filter": "temp > 1", "next": "sink"}},
                    {"datastore": {"name": "sink", "datastoreName": "base_ds"}}]
        c.update_pipeline(pipelineName="pl_1", pipelineActivities=new_acts)
        c.delete_pipeline(pipelineName="pl_2")
        c.update_datastore(datastoreName="ds_1", retentionPeriod={"numberOfDays": 11})
        c.delete_datastore(datastoreName="ds_2")
        logging_opts = {"roleArn": ROLE, "level": "ERROR", "enabled": True}
        c.put_logging_options(loggingOptions=logging_opts)
        self.server.kill9()

        self.server.start()
        c = self.server.client()
        self.assertEqual(sorted(list_names(c, "channel")),
                         sorted(["base_ch"] + [f"ch_{i}" for i in range(4, 10)]))
        for i in range(4, 7):
            self.assertEqual(describe(c, "channel", f"ch_{i}")["retentionPeriod"],
                             {"unlimited": True})
        self.assertEqual(describe(c, "channel", "ch_9")["retentionPeriod"]["numberOfDays"], 7)
        tags = lambda n: {t["key"]: t["value"] for t in c.list_tags_for_resource(
            resourceArn=self.server.arn("channel", n))["tags"]}
        self.assertEqual(tags("ch_7"), {"name": "ch_7", "kind": "changed", "extra": "yes"})
        self.assertEqual(tags("ch_8"), {"kind": "channel"})
        self.assertIsNone(describe(c, "dataset", "dset_0"))
        self.assertEqual(describe(c, "dataset", "dset_1")["actions"][0]["queryAction"]["sqlQuery"],
                         "SELECT 42")
        self.assertEqual(describe(c, "dataset", "dset_2")["actions"][0]["queryAction"]["sqlQuery"],
                         "SELECT 'dset_2'")
        self.assertEqual(len(describe(c, "pipeline", "pl_1")["activities"]), 3)
        self.assertIsNone(describe(c, "pipeline", "pl_2"))
        self.assertEqual(describe(c, "datastore", "ds_1")["retentionPeriod"]["numberOfDays"], 11)
        self.assertIsNone(describe(c, "datastore", "ds_2"))
        self.assertEqual(c.describe_logging_options()["loggingOptions"], logging_opts)
        # The catalog still accepts writes after recovery.
        create(c, "channel", "after_restart")
        self.assertComplete(c, "channel", "after_restart")
        self.server.stop_clean()

    def test_sigterm_and_sigint_exit_cleanly(self):
        self.server.start()
        self.server.client().create_channel(channelName="before_term")
        # An idle keep-alive connection must not hold up the shutdown.
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("GET", "/_sluice/health")
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
            self.assertEqual(self.server.stop(signal.SIGTERM), 0, self.server.diagnostics())
        finally:
            conn.close()
        self.server.start()
        c = self.server.client()
        self.assertIsNotNone(describe(c, "channel", "before_term"))
        c.create_channel(channelName="before_int")
        self.assertEqual(self.server.stop(signal.SIGINT), 0, self.server.diagnostics())
        self.server.start()
        self.assertEqual(sorted(list_names(self.server.client(), "channel")),
                         ["before_int", "before_term"])
        self.server.stop_clean()

    def test_startup_time_on_existing_data_dir(self):
        self.server.start()
        c = self.server.client()
        c.create_channel(channelName="base_ch")
        c.create_datastore(datastoreName="base_ds")
        for i in range(60):
            for kind in KINDS:
                create(c, kind, f"{kind}_{i}")
        self.server.stop_clean()

        figures = []

        def timed_start(how):
            self.server.start()
            listening = self.server.startup_seconds
            client = self.server.client()
            t0 = time.monotonic()
            names = list_names(client, "dataset")
            figures.append((how, listening, time.monotonic() - t0))
            self.assertEqual(len(names), 60)

        timed_start("after SIGTERM")
        self.server.stop_clean()
        timed_start("after SIGTERM (again)")
        self.server.kill9()
        timed_start("after kill -9")
        self.server.stop_clean()
        for how, listening, first_call in figures:
            print(f"\n  startup {how} with 242 resources: listening after {listening * 1000:.1f} ms"
                  f" (first ListDatasets took {first_call * 1000:.1f} ms)", end="", flush=True)
        print(flush=True)
        for how, listening, _ in figures:
            self.assertLess(listening, 1.0, f"startup {how} took {listening:.3f}s")


if __name__ == "__main__":
    unittest.main(verbosity=2)
