"""End-to-end tests with the AWS CLI (Debian's awscli v2.9 at /usr/bin/aws) and the AWS
SDK for JavaScript v3 (@aws-sdk/client-iotanalytics@3.986.0 from the repo's package.json),
plus the generated-root-credentials flow (printed once, saved with mode 0600, reused).

The JS test is skipped only when node or node_modules is missing; the setup script and CI
run `npm ci` in the repository root, so in CI it always runs.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.exceptions import ClientError  # noqa: E402

import harness  # noqa: E402
from harness import Server, unique  # noqa: E402

AWS_CLI = "/usr/bin/aws"
HERE = os.path.dirname(os.path.abspath(__file__))
JS_SDK_DIR = os.path.join(harness.REPO_ROOT, "node_modules", "@aws-sdk", "client-iotanalytics")


class CliRunner:
    """Runs /usr/bin/aws isolated from the user's AWS configuration."""

    def __init__(self, endpoint, key, secret):
        self.tmp = tempfile.mkdtemp(prefix="sluice-e2e-cli-")
        for f in ("config", "credentials"):
            open(os.path.join(self.tmp, f), "w").close()
        self.endpoint = endpoint
        self.key, self.secret = key, secret

    def env(self):
        env = harness.clean_env()
        env.update({
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": harness.REGION,
            "AWS_CONFIG_FILE": os.path.join(self.tmp, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.tmp, "credentials"),
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": self.tmp,
        })
        return env

    def run(self, *args):
        cmd = [AWS_CLI, "iotanalytics", "--endpoint-url", self.endpoint, "--output", "json",
               *args]
        p = subprocess.run(cmd, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def ok(self, *args):
        rc, out, err = self.run(*args)
        if rc != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({rc}): {err}")
        return json.loads(out) if out.strip() else None

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


@unittest.skipUnless(os.access(AWS_CLI, os.X_OK), f"{AWS_CLI} is missing (apt-get install awscli)")
class CliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.cli = CliRunner(cls.server.endpoint, cls.server.access_key, cls.server.secret_key)

    @classmethod
    def tearDownClass(cls):
        cls.cli.close()
        try:
            cls.server.stop_clean()
        finally:
            cls.server.close()

    def test_channel_lifecycle(self):
        out = self.cli.ok("create-channel", "--channel-name", "c1")
        self.assertEqual(out["channelName"], "c1")
        self.assertEqual(out["channelArn"], self.server.arn("channel", "c1"))
        self.assertEqual(out["retentionPeriod"], {"unlimited": True})

        d = self.cli.ok("describe-channel", "--channel-name", "c1")["channel"]
        self.assertEqual(d["name"], "c1")
        self.assertEqual(d["status"], "ACTIVE")
        self.assertIn("creationTime", d)

        self.cli.ok("update-channel", "--channel-name", "c1",
                    "--retention-period", "numberOfDays=7")
        d = self.cli.ok("describe-channel", "--channel-name", "c1")["channel"]
        self.assertEqual(d["retentionPeriod"]["numberOfDays"], 7)

        names = [s["channelName"] for s in self.cli.ok("list-channels")["channelSummaries"]]
        self.assertIn("c1", names)

        self.assertIsNone(self.cli.ok("delete-channel", "--channel-name", "c1"))
        rc, out, err = self.cli.run("describe-channel", "--channel-name", "c1")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)
        names = [s["channelName"] for s in self.cli.ok("list-channels")["channelSummaries"]]
        self.assertNotIn("c1", names)

    def test_dataset_and_tags(self):
        name = unique("cli_ds")
        actions = [{"actionName": "q", "queryAction": {"sqlQuery": "SELECT * FROM s"}}]
        out = self.cli.ok("create-dataset", "--dataset-name", name,
                          "--actions", json.dumps(actions),
                          "--triggers", json.dumps([{"schedule": {"expression": "rate(1 day)"}}]))
        self.assertEqual(out["datasetName"], name)
        arn = out["datasetArn"]
        self.cli.ok("tag-resource", "--resource-arn", arn,
                    "--tags", json.dumps([{"key": "env", "value": "test"}]))
        tags = self.cli.ok("list-tags-for-resource", "--resource-arn", arn)["tags"]
        self.assertEqual(tags, [{"key": "env", "value": "test"}])
        d = self.cli.ok("describe-dataset", "--dataset-name", name)["dataset"]
        self.assertEqual(d["actions"][0]["queryAction"]["sqlQuery"], "SELECT * FROM s")
        self.assertEqual(d["triggers"], [{"schedule": {"expression": "rate(1 day)"}}])
        summaries = self.cli.ok("list-datasets")["datasetSummaries"]
        mine = [s for s in summaries if s["datasetName"] == name]
        self.assertEqual(mine[0]["actions"], [{"actionName": "q", "actionType": "QUERY"}])
        self.cli.ok("delete-dataset", "--dataset-name", name)

    def test_errors_surface_in_the_cli(self):
        rc, _, err = self.cli.run("create-channel", "--channel-name", "bad-name")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidRequestException", err)
        self.cli.ok("create-channel", "--channel-name", "dup_cli")
        rc, _, err = self.cli.run("create-channel", "--channel-name", "dup_cli")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceAlreadyExistsException", err)
        wrong = CliRunner(self.server.endpoint, "AKIDNOTAREALKEY00000", "x" * 40)
        try:
            rc, _, err = wrong.run("list-channels")
            self.assertNotEqual(rc, 0)
            self.assertIn("UnrecognizedClientException", err)
        finally:
            wrong.close()


class GeneratedCredentialsTest(unittest.TestCase):

    def test_generated_once_saved_0600_and_reused(self):
        server = Server(generated_credentials=True)
        try:
            server.start()
            line = server.wait_for_stdout(
                lambda l: l.strip().startswith("AWS_SECRET_ACCESS_KEY="), timeout=5)
            self.assertIsNotNone(line, f"no printed secret{server.diagnostics()}")
            key, secret = server.printed_credentials()
            self.assertTrue(key and secret, server.stdout_lines)
            cred_file = os.path.join(server.data_dir, "credentials")
            header = f"generated root credentials (saved in {cred_file}):"
            self.assertTrue(any(l.strip() == header for l in server.stdout_lines),
                            f"missing {header!r} in {server.stdout_lines}")
            self.assertEqual(stat.S_IMODE(os.stat(cred_file).st_mode), 0o600)
            with open(cred_file) as f:
                saved = json.load(f)
            self.assertEqual(saved, {"accessKeyId": key, "secretAccessKey": secret})
            self.assertNotEqual(key, harness.TEST_ACCESS_KEY)
            self.assertGreaterEqual(len(secret), 20)

            cli = CliRunner(server.endpoint, key, secret)
            try:
                out = cli.ok("create-channel", "--channel-name", "c1")
                self.assertEqual(out["channelName"], "c1")
                # The fixed test keys are not accepted by this server.
                with self.assertRaises(ClientError) as cm:
                    server.client(access_key=harness.TEST_ACCESS_KEY,
                                  secret_key=harness.TEST_SECRET_KEY).list_channels()
                self.assertEqual(cm.exception.response["Error"]["Code"],
                                 "UnrecognizedClientException")
                server.stop_clean()
                first_run = server.all_stdout_after_exit()
                self.assertEqual(sum("AWS_SECRET_ACCESS_KEY=" in l for l in first_run), 1)

                # Second start: nothing printed, same keys, same file.
                server.start()
                self.assertEqual((server.access_key, server.secret_key), (key, secret))
                cli.close()
                cli = CliRunner(server.endpoint, key, secret)
                names = [s["channelName"] for s in cli.ok("list-channels")["channelSummaries"]]
                self.assertEqual(names, ["c1"])
                self.assertEqual(
                    server.client().describe_channel(channelName="c1")["channel"]["name"], "c1")
                server.stop_clean()
                second_run = server.all_stdout_after_exit()
                self.assertTrue(any("listening on" in l for l in second_run))
                self.assertFalse([l for l in second_run if "generated" in l
                                  or "AWS_SECRET_ACCESS_KEY" in l or secret in l], second_run)
                with open(cred_file) as f:
                    self.assertEqual(json.load(f), saved)
                self.assertEqual(stat.S_IMODE(os.stat(cred_file).st_mode), 0o600)
            finally:
                cli.close()
        finally:
            server.close()

    def test_environment_keys_take_precedence(self):
        server = Server(access_key="AKIDFROMENVIRONMENT1", secret_key="env-secret-" + "s" * 30)
        try:
            server.start()
            self.assertEqual(server.client().list_channels()["channelSummaries"], [])
            server.stop_clean()
            lines = server.all_stdout_after_exit()
            self.assertFalse([l for l in lines if "AWS_SECRET_ACCESS_KEY" in l], lines)
        finally:
            server.close()


class JavaScriptSdkTest(unittest.TestCase):

    def test_js_sdk_smoke(self):
        node = shutil.which("node")
        if node is None or not os.path.isdir(JS_SDK_DIR):
            self.skipTest("node or node_modules/@aws-sdk/client-iotanalytics is missing; run "
                          "`npm ci` in the repository root (the setup script and CI do)")
        server = Server()
        try:
            server.start()
            env = harness.clean_env()
            env.update({"SLUICE_ENDPOINT": server.endpoint,
                        "SLUICE_TEST_KEY_ID": server.access_key,
                        "SLUICE_TEST_SECRET": server.secret_key,
                        "SLUICE_TEST_PREFIX": "js_e2e"})
            p = subprocess.run([node, os.path.join(HERE, "js_smoke.mjs")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                               cwd=harness.REPO_ROOT)
            self.assertEqual(p.returncode, 0,
                             f"js smoke failed:\n{p.stdout.decode()}\n{p.stderr.decode()}")
            self.assertIn("js smoke ok", p.stdout.decode())
            # What the JS client did is visible to boto3.
            c = server.client()
            with self.assertRaises(ClientError) as cm:
                c.describe_channel(channelName="js_e2e_channel")
            self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
            self.assertEqual(c.list_datasets()["datasetSummaries"], [])
            server.stop_clean()
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
