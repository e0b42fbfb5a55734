// The producer end to end against a loopback RPC v2 CBOR server (`tests/fake-bus.mjs`), through
// the real EventBridgeV2Client: what reaches the bus, in which calls, and what happens on refusals.
import assert from "node:assert/strict";
import { after, beforeEach, test } from "node:test";

import {
  ConfigurationError,
  EmitError,
  EventBridgeV2Client,
  InvalidEventError,
  createProducer,
} from "../dist/index.js";
import { BUS_ARN, publishAll, startFakeBus } from "./fake-bus.mjs";

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
const LISTING = { EventBuses: [{ Name: "healthcoach-realtime", EventBusArn: BUS_ARN }] };
const servers = [];
after(() => Promise.all(servers.map((server) => server.close())));

beforeEach(() => {
  delete process.env.EVENT_BUS_ARN;
  delete process.env.EVENT_BUS_NAME;
});

/** A producer whose bus answers with `answer`; ListEventBuses finds the default bus unless told. */
async function producerFor(answer, options = {}) {
  let published = 0;
  const bus = await startFakeBus((operation, input, request) => {
    if (operation === "ListEventBuses") return { body: LISTING };
    const answered = answer?.(input, request) ?? publishAll(input, published);
    published += input.Entries.length;
    return answered;
  });
  servers.push(bus);
  const client = new EventBridgeV2Client({
    region: "us-east-1",
    endpoint: bus.endpoint,
    credentials: CREDENTIALS,
  });
  const producer = createProducer({ client, sleep: async () => {}, ...options });
  return { bus, producer, puts: () => bus.requests.filter((request) => request.operation === "PutEvents") };
}

const detailOf = (entry) => JSON.parse(entry.Detail);

test("emit publishes one entry: the domain's Source, the type, the detail, EventGroupId = the user", async () => {
  const { producer, puts } = await producerFor();
  const id = await producer.emit("user-1", "foodLogCreated", { id: "f1", name: "Apple", calories: 95 });
  assert.equal(id, "ev-0");
  const [put] = puts();
  assert.equal(put.input.EventBusArn, BUS_ARN);
  assert.deepEqual(put.input.Entries, [
    {
      Source: "healthcoach.food-logs",
      DetailType: "foodLogCreated",
      Detail: '{"userId":"user-1","data":{"id":"f1","name":"Apple","calories":95}}',
      SystemMetadata: { EventGroupId: "user-1" },
    },
  ]);
});

test("with an eventId it travels in the detail and as DeduplicationId, and emit returns it", async () => {
  const { producer, puts } = await producerFor();
  const id = await producer.emit("user-1", "healthMetricDeleted", { id: "m1" }, { eventId: "change-42" });
  assert.equal(id, "change-42");
  const [entry] = puts()[0].input.Entries;
  assert.equal(entry.Source, "healthcoach.health-metrics");
  assert.deepEqual(detailOf(entry), { userId: "user-1", data: { id: "m1" }, eventId: "change-42" });
  assert.deepEqual(entry.SystemMetadata, { EventGroupId: "user-1", DeduplicationId: "change-42" });
});

test("an invalid event is refused with its field and rule, and nothing is sent", async () => {
  const { bus, producer } = await producerFor();
  await assert.rejects(producer.emit("user-1", "foodLogCreated", { id: "f1", calories: -5 }), (error) => {
    assert.ok(error instanceof InvalidEventError);
    assert.equal(error.message, "invalid foodLogCreated: detail.data.calories must be >= 0");
    assert.deepEqual([error.field, error.rule], ["detail.data.calories", "minimum"]);
    return true;
  });
  await assert.rejects(producer.emit("user-1", "foodLogDeleted", { id: "f1", calories: 5 }), {
    field: "detail.data.calories",
    rule: "additionalProperties",
  });
  await assert.rejects(
    producer.emitMany([
      { userId: "user-1", type: "foodLogDeleted", data: { id: "f1" } },
      { userId: "user-1", type: "foodLogRemoved", data: { id: "f1" } },
    ]),
    /unknown event type "foodLogRemoved" \(events\[1\]\)/,
  );
  assert.equal(bus.requests.length, 0);
});

test("the bus is found by its exact name across ListEventBuses pages, once per producer", async () => {
  const pages = {
    first: {
      EventBuses: [{ Name: "healthcoach-realtime-dev", EventBusArn: `${BUS_ARN}-dev` }],
      NextToken: "p2",
    },
    p2: LISTING,
  };
  const bus = await startFakeBus((operation, input) =>
    operation === "ListEventBuses" ? { body: pages[input.NextToken ?? "first"] } : publishAll(input),
  );
  servers.push(bus);
  const client = new EventBridgeV2Client({
    region: "us-east-1",
    endpoint: bus.endpoint,
    credentials: CREDENTIALS,
  });
  const producer = createProducer({ client });
  await producer.emit("u", "foodLogDeleted", { id: "1" });
  await producer.emit("u", "foodLogDeleted", { id: "2" });
  const lists = bus.requests.filter((request) => request.operation === "ListEventBuses").map((r) => r.input);
  assert.deepEqual(lists, [
    { NamePrefix: "healthcoach-realtime" },
    { NamePrefix: "healthcoach-realtime", NextToken: "p2" },
  ]);
  assert.deepEqual(
    bus.requests.filter((r) => r.operation === "PutEvents").map((r) => r.input.EventBusArn),
    [BUS_ARN, BUS_ARN],
  );
});

test("EVENT_BUS_ARN is used as is; EVENT_BUS_NAME names the bus to look up", async () => {
  process.env.EVENT_BUS_ARN = `${BUS_ARN}-from-env`;
  const first = await producerFor();
  await first.producer.emit("u", "foodLogDeleted", { id: "1" });
  assert.deepEqual(
    first.bus.requests.map((r) => [r.operation, r.input.EventBusArn]),
    [["PutEvents", `${BUS_ARN}-from-env`]],
  );

  delete process.env.EVENT_BUS_ARN;
  process.env.EVENT_BUS_NAME = "healthcoach-realtime-prod";
  const second = await producerFor();
  await assert.rejects(second.producer.busArn(), (error) => {
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /no event bus named "healthcoach-realtime-prod": set EVENT_BUS_ARN/);
    return true;
  });
});

test("emitMany sends a user's events in waves: no call carries two events of one user", async () => {
  const { producer, puts } = await producerFor();
  const ids = await producer.emitMany([
    { userId: "a", type: "foodLogCreated", data: { id: "a1" } },
    { userId: "a", type: "foodLogUpdated", data: { id: "a1", calories: 10 } },
    { userId: "b", type: "exerciseLogCreated", data: { id: "b1" } },
    { userId: "a", type: "foodLogDeleted", data: { id: "a1" } },
  ]);
  const calls = puts().map((put) =>
    put.input.Entries.map((entry) => `${entry.SystemMetadata.EventGroupId}:${entry.DetailType}`),
  );
  assert.deepEqual(calls, [
    ["a:foodLogCreated", "b:exerciseLogCreated"],
    ["a:foodLogUpdated"],
    ["a:foodLogDeleted"],
  ]);
  assert.deepEqual(ids, ["ev-0", "ev-2", "ev-1", "ev-3"]);
});

test("a wave of more than 100 events is split into calls of at most 100", async () => {
  const { producer, puts } = await producerFor();
  const events = Array.from({ length: 150 }, (_, n) => ({
    userId: `user-${n}`,
    type: "foodLogDeleted",
    data: { id: `f${n}` },
  }));
  const ids = await producer.emitMany(events);
  assert.deepEqual(
    puts().map((put) => put.input.Entries.length),
    [100, 50],
  );
  assert.equal(new Set(ids).size, 150);
});

test("refused retryable entries are sent again, alone; DEDUPLICATED counts as published", async () => {
  let call = 0;
  const { producer, puts } = await producerFor((input) => {
    call += 1;
    if (call > 1) return publishAll(input, 10);
    return {
      body: {
        FailedEntryCount: 1,
        Entries: [
          { EventId: "ev-0", SuccessCode: "PUBLISHED" },
          { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" },
          { EventId: "ev-2", SuccessCode: "DEDUPLICATED" },
        ],
      },
    };
  });
  const ids = await producer.emitMany(
    ["a", "b", "c"].map((userId) => ({ userId, type: "foodLogDeleted", data: { id: "x" } })),
  );
  assert.deepEqual(
    puts().map((put) => put.input.Entries.map((entry) => entry.SystemMetadata.EventGroupId)),
    [["a", "b", "c"], ["b"]],
  );
  assert.deepEqual(ids, ["ev-0", "ev-10", "ev-2"]);
});

test("a permanent refusal stops before the next wave: EmitError lists it and every event not sent", async () => {
  const { producer, puts } = await producerFor((input) => ({
    body: {
      FailedEntryCount: 1,
      Entries: input.Entries.map(() => ({ ErrorCode: "AccessDeniedException", ErrorMessage: "no" })),
    },
  }));
  await assert.rejects(
    producer.emitMany([
      { userId: "a", type: "foodLogCreated", data: { id: "a1" } },
      { userId: "a", type: "foodLogDeleted", data: { id: "a1" } },
    ]),
    (error) => {
      assert.ok(error instanceof EmitError);
      assert.equal(
        error.message,
        "the event bus refused 1 of 2 events (AccessDeniedException); 1 more not sent",
      );
      assert.deepEqual(error.failed, [
        { index: 0, detailType: "foodLogCreated", errorCode: "AccessDeniedException", errorMessage: "no" },
        {
          index: 1,
          detailType: "foodLogDeleted",
          errorCode: "NotAttempted",
          errorMessage: "not sent: an earlier call failed",
        },
      ]);
      return true;
    },
  );
  assert.equal(puts().length, 1);
});

test("a request the service refuses as a whole is an EmitError naming the service's error", async () => {
  const { producer } = await producerFor(() => ({
    status: 404,
    body: { __type: "ResourceNotFoundException", Message: "no such bus" },
  }));
  await assert.rejects(producer.emit("a", "foodLogDeleted", { id: "1" }), (error) => {
    assert.ok(error instanceof EmitError);
    assert.deepEqual(
      error.failed.map((f) => [f.errorCode, f.errorMessage]),
      [["ResourceNotFoundException", "no such bus"]],
    );
    assert.equal(error.cause.name, "ResourceNotFoundException");
    return true;
  });
});
