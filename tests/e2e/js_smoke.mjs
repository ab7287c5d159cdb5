// Smoke test of Sluice with the AWS SDK for JavaScript v3 (@aws-sdk/client-iotanalytics).
// Driven by test_cli_and_js.py, which passes SLUICE_ENDPOINT, SLUICE_TEST_KEY_ID,
// SLUICE_TEST_SECRET and SLUICE_TEST_PREFIX. Prints "js smoke ok" and exits 0 on success;
// any failed check throws, which exits non-zero with the reason.
import assert from "node:assert/strict";
import {
  CreateChannelCommand,
  CreateDatasetCommand,
  DeleteChannelCommand,
  DeleteDatasetCommand,
  DescribeChannelCommand,
  DescribeDatasetCommand,
  IoTAnalyticsClient,
  ListChannelsCommand,
  ListTagsForResourceCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-iotanalytics";

const endpoint = process.env.SLUICE_ENDPOINT;
const prefix = process.env.SLUICE_TEST_PREFIX || "js";
assert.ok(endpoint, "SLUICE_ENDPOINT is not set");

const client = new IoTAnalyticsClient({
  endpoint,
  region: "us-east-1",
  maxAttempts: 1,
  credentials: {
    accessKeyId: process.env.SLUICE_TEST_KEY_ID,
    secretAccessKey: process.env.SLUICE_TEST_SECRET,
  },
});

async function expectError(promise, type, name) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${name}, got ${err.name}: ${err.message}`);
    assert.equal(err.name, name);
    assert.ok(err.message.length > 0);
    assert.ok(err.$metadata.requestId, "error without a request id");
    return err;
  }
  assert.fail(`expected ${name}, but the call succeeded`);
}

const channel = `${prefix}_channel`;
const arn = `arn:aws:iotanalytics:us-east-1:123456789012:channel/${channel}`;
const before = Date.now();

const created = await client.send(new CreateChannelCommand({
  channelName: channel,
  retentionPeriod: { numberOfDays: 3 },
  tags: [{ key: "sdk", value: "js" }],
}));
assert.equal(created.$metadata.httpStatusCode, 201);
assert.equal(created.channelName, channel);
assert.equal(created.channelArn, arn);
assert.equal(created.retentionPeriod.numberOfDays, 3);

const described = await client.send(new DescribeChannelCommand({ channelName: channel }));
assert.equal(described.channel.name, channel);
assert.equal(described.channel.arn, arn);
assert.equal(described.channel.status, "ACTIVE");
assert.ok(described.channel.creationTime instanceof Date, "creationTime is not a Date");
assert.ok(Math.abs(described.channel.creationTime.getTime() - before) < 60_000,
          `creationTime ${described.channel.creationTime.toISOString()} is not recent`);
assert.deepEqual(described.channel.storage, { serviceManagedS3: {} });

const stats = await client.send(
  new DescribeChannelCommand({ channelName: channel, includeStatistics: true }));
assert.equal(typeof stats.statistics.size.estimatedSizeInBytes, "number");

const listed = await client.send(new ListChannelsCommand({ maxResults: 250 }));
assert.ok(listed.channelSummaries.some((s) => s.channelName === channel),
          "created channel is not listed");

const tags = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
assert.deepEqual(tags.tags, [{ key: "sdk", value: "js" }]);

const dup = await expectError(client.send(new CreateChannelCommand({ channelName: channel })),
                              ResourceAlreadyExistsException, "ResourceAlreadyExistsException");
assert.equal(dup.resourceId, channel);
assert.equal(dup.resourceArn, arn);
assert.equal(dup.$metadata.httpStatusCode, 409);

// Timestamps and nested unions round-trip through the JS serializer too.
const dataset = `${prefix}_dataset`;
await client.send(new CreateDatasetCommand({
  datasetName: dataset,
  actions: [{ actionName: "q", queryAction: { sqlQuery: "SELECT * FROM store" } }],
  triggers: [{ schedule: { expression: "cron(0 12 * * ? *)" } }],
}));
const ds = await client.send(new DescribeDatasetCommand({ datasetName: dataset }));
assert.equal(ds.dataset.actions[0].queryAction.sqlQuery, "SELECT * FROM store");
assert.deepEqual(ds.dataset.triggers, [{ schedule: { expression: "cron(0 12 * * ? *)" } }]);
assert.ok(ds.dataset.lastUpdateTime instanceof Date);
await client.send(new DeleteDatasetCommand({ datasetName: dataset }));

const deleted = await client.send(new DeleteChannelCommand({ channelName: channel }));
assert.equal(deleted.$metadata.httpStatusCode, 204);

const missing = await expectError(
  client.send(new DescribeChannelCommand({ channelName: channel })),
  ResourceNotFoundException, "ResourceNotFoundException");
assert.equal(missing.$metadata.httpStatusCode, 404);

console.log("js smoke ok");
