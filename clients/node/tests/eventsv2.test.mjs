// The EventBridge v2 client against a loopback server speaking RPC v2 CBOR (`tests/fake-bus.mjs`).
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { StandardRetryStrategy } from "@smithy/core/retry";

import { EventBridgeV2Client, EventsV2ServiceError, resolveEndpoint } from "../dist/index.js";
import { BUS_ARN, publishAll, startFakeBus } from "./fake-bus.mjs";

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
const servers = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function clientFor(answer, extra = {}) {
  const bus = await startFakeBus(answer);
  servers.push(bus);
  const retryStrategy = new StandardRetryStrategy({ maxAttempts: 3, baseDelay: 1 });
  const client = new EventBridgeV2Client({
    region: "us-east-1",
    endpoint: bus.endpoint,
    credentials: CREDENTIALS,
    retryStrategy,
    ...extra,
  });
  return { bus, client };
}

const ENTRY = {
  Source: "healthcoach.food-logs",
  DetailType: "foodLogCreated",
  Detail: '{"userId":"u1","data":{"id":"f1"}}',
  SystemMetadata: { EventGroupId: "u1", DeduplicationId: "e1" },
};

test("PutEvents is a signed RPC v2 CBOR POST to /service/AWSEventsV2/operation/PutEvents", async () => {
  const { bus, client } = await clientFor((_, input) => publishAll(input));
  const output = await client.putEvents({ EventBusArn: BUS_ARN, Entries: [ENTRY] });
  assert.deepEqual(output, {
    FailedEntryCount: 0,
    Entries: [{ EventId: "ev-0", SequenceNumber: "0", SuccessCode: "PUBLISHED" }],
  });
  const [request] = bus.requests;
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/service/AWSEventsV2/operation/PutEvents");
  assert.equal(request.headers["smithy-protocol"], "rpc-v2-cbor");
  assert.equal(request.headers["content-type"], "application/cbor");
  assert.equal(request.headers.accept, "application/cbor");
  assert.match(
    request.headers.authorization,
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/events\/aws4_request, SignedHeaders=[^,]*host[^,]*smithy-protocol/,
  );
  assert.deepEqual(request.input, { EventBusArn: BUS_ARN, Entries: [ENTRY] });
});

test("ListEventBuses sends only the members given (no CBOR undefined) and returns the page", async () => {
  const page = {
    EventBuses: [{ Name: "healthcoach-realtime", EventBusArn: BUS_ARN, State: "ACTIVE" }],
    NextToken: "t2",
  };
  const { bus, client } = await clientFor(() => ({ body: page }));
  assert.deepEqual(await client.listEventBuses({ NamePrefix: "healthcoach", NextToken: undefined }), page);
  assert.equal(bus.requests[0].path, "/service/AWSEventsV2/operation/ListEventBuses");
  assert.deepEqual(bus.requests[0].input, { NamePrefix: "healthcoach" });
});

test("an error answer is an EventsV2ServiceError named by __type, not retried when it is the caller's", async () => {
  const { bus, client } = await clientFor(() => ({
    status: 400,
    body: {
      __type: "com.amazonaws.eventbridgev2#InvalidInputException",
      Message: "Entries must not be empty",
    },
  }));
  await assert.rejects(client.putEvents({ EventBusArn: BUS_ARN, Entries: [] }), (error) => {
    assert.ok(error instanceof EventsV2ServiceError);
    assert.deepEqual(
      [error.name, error.message, error.statusCode, error.$fault],
      ["InvalidInputException", "Entries must not be empty", 400, "client"],
    );
    return true;
  });
  assert.equal(bus.requests.length, 1);
});

test("a server fault is retried by the SDK's standard strategy", async () => {
  let calls = 0;
  const { bus, client } = await clientFor((_, input) => {
    calls += 1;
    return calls === 1
      ? { status: 500, body: { __type: "InternalException", message: "try again" } }
      : publishAll(input);
  });
  const output = await client.putEvents({ EventBusArn: BUS_ARN, Entries: [ENTRY] });
  assert.equal(output.Entries[0].SuccessCode, "PUBLISHED");
  assert.equal(bus.requests.length, 2);
});

test("a server fault that persists fails after the strategy's attempts with the service's error", async () => {
  const { bus, client } = await clientFor(() => ({
    status: 503,
    body: { __type: "InternalException", message: "down" },
  }));
  await assert.rejects(client.listEventBuses(), { name: "InternalException", message: "down" });
  assert.equal(bus.requests.length, 3);
});

test("an answer without smithy-protocol: rpc-v2-cbor is refused, saying what is wrong", async () => {
  const { client } = await clientFor(() => ({ status: 404, body: {}, protocol: false }));
  await assert.rejects(client.listEventBuses(), /HTTP 404 without smithy-protocol: rpc-v2-cbor/);
});

test("an endpoint's base path is kept before /service/...", async () => {
  const bus = await startFakeBus(() => ({ body: {} }));
  servers.push(bus);
  const client = new EventBridgeV2Client({
    region: "us-east-1",
    endpoint: `${bus.endpoint}/proxy/`,
    credentials: CREDENTIALS,
  });
  await client.listEventBuses();
  assert.equal(bus.requests[0].path, "/proxy/service/AWSEventsV2/operation/ListEventBuses");
});

test("endpoints resolve as the service's rules do: the bus owner's account for PutEvents, the partition's suffix", () => {
  assert.equal(resolveEndpoint("eu-west-1").href, "https://eventsv2.eu-west-1.amazonaws.com/");
  assert.equal(
    resolveEndpoint("us-east-1", undefined, BUS_ARN).href,
    "https://123456789012.eventsv2.us-east-1.amazonaws.com/",
  );
  assert.equal(resolveEndpoint("cn-north-1").href, "https://eventsv2.cn-north-1.amazonaws.com.cn/");
  assert.equal(resolveEndpoint("us-east-1", "http://127.0.0.1:3002", BUS_ARN).href, "http://127.0.0.1:3002/");
});

test("the region comes from AWS_REGION; without one the client says so", () => {
  const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
  try {
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_REGION = "eu-central-1";
    assert.equal(new EventBridgeV2Client({ credentials: CREDENTIALS }).region, "eu-central-1");
    delete process.env.AWS_REGION;
    assert.throws(() => new EventBridgeV2Client({ credentials: CREDENTIALS }), /set AWS_REGION/);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});
