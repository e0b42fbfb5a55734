// Unit tests of the reference client, with an in-memory WebSocket: `node --test clients/web/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RealtimeClient, RecentIds, SUBPROTOCOL, backoffDelay, parseFrame } from "./realtime.js";

/** An in-memory WebSocket: records what the client asked for; the test drives its events. */
class FakeSocket {
  /** @type {FakeSocket[]} */
  static made = [];

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.made.push(this);
  }

  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  message(frame) {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  send(text) {
    this.sent.push(text);
  }

  close(code, reason) {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

const PRESENCE = '{"action":"presence"}';

/** What the client sent on `socket` besides the presence ask every open makes. */
const asked = (socket) => socket.sent.filter((text) => text !== PRESENCE);

function makeClient(options = {}) {
  FakeSocket.made = [];
  let tokens = 0;
  const client = new RealtimeClient({
    url: "ws://127.0.0.1:3001/local",
    getToken: () => `token-${++tokens}`,
    WebSocket: FakeSocket,
    random: () => 0,
    ...options,
  });
  return client;
}

test("backoffDelay: full jitter below an exponential ceiling that is capped", () => {
  const top = () => 0.999999;
  assert.equal(backoffDelay(0, { baseMs: 100 }, top), 99);
  assert.equal(backoffDelay(3, { baseMs: 100 }, top), 799);
  assert.equal(backoffDelay(30, { baseMs: 100, maxMs: 5000 }, top), 4999);
  assert.equal(backoffDelay(5, {}, () => 0), 0);
});

test("RecentIds forgets the least recently seen id first", () => {
  const ids = new RecentIds(2);
  assert.equal(ids.add("a"), true);
  assert.equal(ids.add("b"), true);
  assert.equal(ids.add("a"), false);
  ids.add("c");
  assert.equal(ids.add("a"), false);
  assert.equal(ids.add("b"), true);
  assert.equal(ids.size, 2);
});

test("parseFrame rejects what is not a frame", () => {
  assert.equal(parseFrame("not json"), null);
  assert.equal(parseFrame("[1]"), null);
  assert.equal(parseFrame('{"data": {}}'), null);
  assert.deepEqual(parseFrame('{"type": "foodLogDeleted", "data": {"id": "1"}}'), {
    type: "foodLogDeleted",
    data: { id: "1" },
  });
});

test("the token rides in the subprotocol list", async () => {
  const client = makeClient();
  client.connect();
  await tick();
  assert.deepEqual(FakeSocket.made[0].protocols, [SUBPROTOCOL, "token-1"]);
  assert.equal(FakeSocket.made[0].url, "ws://127.0.0.1:3001/local");
  client.close();
});

test("typed callbacks get data of their type only; onAny gets every frame", async () => {
  const client = makeClient();
  const food = [];
  const all = [];
  client.on("foodLogCreated", (data) => food.push(data));
  client.onAny((frame) => all.push(frame.type));
  client.connect();
  await tick();
  const socket = FakeSocket.made[0];
  socket.open();
  socket.message({ type: "foodLogCreated", data: { id: "f1" }, id: "e1" });
  socket.message({ type: "healthProfileUpdated", data: { id: "p1" }, id: "e2" });
  assert.deepEqual(food, [{ id: "f1" }]);
  assert.deepEqual(all, ["foodLogCreated", "healthProfileUpdated"]);
  client.close();
});

test("a frame whose id was already seen is dropped", async () => {
  const client = makeClient();
  const seen = [];
  client.onAny((frame) => seen.push(frame.id));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "foodLogDeleted", data: { id: "f1" }, id: "e1" });
  FakeSocket.made[0].message({ type: "foodLogDeleted", data: { id: "f1" }, id: "e1" });
  assert.deepEqual(seen, ["e1"]);
  client.close();
});

test("after a drop it reconnects with a fresh token and reports the attempt", async () => {
  const client = makeClient();
  const statuses = [];
  client.onStatus((change) => statuses.push(`${change.status}:${change.attempt}`));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].drop(1001, "going away");
  await tick();
  assert.equal(FakeSocket.made.length, 2);
  assert.deepEqual(FakeSocket.made[1].protocols, [SUBPROTOCOL, "token-2"]);
  assert.deepEqual(statuses, ["connecting:0", "open:0", "reconnecting:1", "connecting:1"]);
  client.close();
});

test("close() stops reconnecting", async () => {
  const client = makeClient();
  client.connect();
  await tick();
  const socket = FakeSocket.made[0];
  socket.open();
  client.close();
  socket.drop(1000, "");
  await tick();
  assert.equal(FakeSocket.made.length, 1);
  assert.equal(client.status, "closed");
  assert.equal(socket.closedWith.code, 1000);
});

test("a failing getToken is reported and retried", async () => {
  let calls = 0;
  const errors = [];
  const client = makeClient({
    getToken: () => {
      calls += 1;
      if (calls === 1) throw new Error("issuer down");
      return "late-token";
    },
  });
  client.onError((error) => errors.push(error.message));
  client.connect();
  await tick();
  assert.deepEqual(errors, ["issuer down"]);
  assert.deepEqual(FakeSocket.made[0].protocols, [SUBPROTOCOL, "late-token"]);
  client.close();
});

test("lastSeq follows the highest seq and reaches a url function on reconnect", async () => {
  const urls = [];
  const client = makeClient({
    url: ({ lastSeq }) => {
      urls.push(lastSeq);
      return "ws://127.0.0.1:3001/local";
    },
  });
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "foodLogCreated", data: { id: "f" }, id: "e7", seq: 7 });
  FakeSocket.made[0].drop();
  await tick();
  assert.equal(client.lastSeq, 7);
  assert.deepEqual(urls, [undefined, 7]);
  client.close();
});

test("a throwing callback does not stop the others", async () => {
  const client = makeClient();
  const errors = [];
  const seen = [];
  client.onError((error) => errors.push(error.message));
  client.onAny(() => {
    throw new Error("boom");
  });
  client.onAny((frame) => seen.push(frame.id));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "foodLogCreated", data: { id: "f" }, id: "e1" });
  assert.deepEqual(errors, ["boom"]);
  assert.deepEqual(seen, ["e1"]);
  client.close();
});

test("the idle hook runs when an open socket has been quiet for afterMs", async () => {
  const client = makeClient({ idle: { afterMs: 1, onIdle: (c) => c.send({ action: "ping" }) } });
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  await tick();
  assert.equal(asked(FakeSocket.made[0])[0], '{"action":"ping"}');
  client.close();
});

test("after a reconnect it asks to resume from lastSeq; the first open asks presence only", async () => {
  const client = makeClient();
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "foodLogDeleted", data: { id: "f" }, id: "e3", seq: 3 });
  FakeSocket.made[0].drop();
  await tick();
  FakeSocket.made[1].open();
  assert.deepEqual(FakeSocket.made[0].sent, [PRESENCE]);
  assert.deepEqual(FakeSocket.made[1].sent, ['{"action":"resume","since":3}', PRESENCE]);
  client.close();
});

test("replayed events that arrive after a newer live one are still delivered, repeats dropped", async () => {
  const client = makeClient({ lastSeq: 7 });
  const seen = [];
  client.onAny((frame) => seen.push(frame.seq));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  for (const seq of [10, 8, 9, 10]) {
    FakeSocket.made[0].message({ type: "foodLogDeleted", data: { id: "f" }, id: `e${seq}`, seq });
  }
  assert.deepEqual(seen, [10, 8, 9]);
  assert.equal(client.lastSeq, 10);
  client.close();
});

test("resync calls onResync with latestSeq and moves lastSeq there; onAny never sees it", async () => {
  const client = makeClient({ lastSeq: 2 });
  const resyncs = [];
  const any = [];
  client.onResync((latest) => resyncs.push(latest));
  client.onAny((frame) => any.push(frame.type));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "resync", latestSeq: 40 });
  FakeSocket.made[0].message({ type: "pong", time: "2026-11-29T10:00:00.000Z" });
  assert.deepEqual([resyncs, any, client.lastSeq], [[40], [], 40]);
  client.close();
});

test("presence frames reach onPresence; server errors reach onError", async () => {
  const client = makeClient();
  const counts = [];
  const errors = [];
  client.onPresence((n) => counts.push(n));
  client.onError((error) => errors.push(error.message));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "presence", connections: 2 });
  FakeSocket.made[0].message({ type: "error", message: "unknown action 'x'" });
  assert.deepEqual([counts, errors], [[2], ["server: unknown action 'x'"]]);
  client.close();
});

test("every open asks for presence, with or without an onPresence callback (it tells the others)", async () => {
  const client = makeClient();
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].drop();
  await tick();
  FakeSocket.made[1].open();
  assert.deepEqual([FakeSocket.made[0].sent, FakeSocket.made[1].sent], [[PRESENCE], [PRESENCE]]);
  client.close();
});

test("resumed and authorized frames reach onControl, never onAny", async () => {
  const client = makeClient({ lastSeq: 4 });
  const control = [];
  const any = [];
  client.onControl((frame) => control.push(frame));
  client.onAny((frame) => any.push(frame.type));
  client.connect();
  await tick();
  FakeSocket.made[0].open();
  FakeSocket.made[0].message({ type: "resumed", through: 4 });
  FakeSocket.made[0].message({ type: "authorized", exp: 1767225600 });
  assert.deepEqual(control, [
    { type: "resumed", through: 4 },
    { type: "authorized", exp: 1767225600 },
  ]);
  assert.deepEqual([any, client.lastSeq], [[], 4]);
  client.close();
});

/** A JWT-shaped token whose payload has `exp` (the client reads it only to time the refresh). */
function jwtWith(exp) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", kid: "k" })}.${part({ sub: "u1", exp })}.signature`;
}

test("the session's end is the token's exp, and nothing for a token that is not a JWT", async () => {
  const jwt = makeClient({ getToken: () => jwtWith(1767225600), refreshAheadMs: null });
  jwt.connect();
  await tick();
  FakeSocket.made[0].open();
  assert.equal(jwt.expiresAt, 1767225600);
  jwt.close();
  const opaque = makeClient({ refreshAheadMs: null });
  opaque.connect();
  await tick();
  FakeSocket.made[0].open();
  assert.equal(opaque.expiresAt, undefined);
  opaque.close();
});

test("a minute before exp it sends auth with a fresh token; authorized moves the next refresh on", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  const start = 1_000_000_000;
  const tokens = [jwtWith(start + 120), jwtWith(start + 3600)];
  const client = makeClient({ getToken: () => tokens.shift(), idle: null });
  client.connect();
  await Promise.resolve();
  FakeSocket.made[0].open();
  assert.equal(client.expiresAt, start + 120);
  t.mock.timers.tick(59_999);
  assert.deepEqual(asked(FakeSocket.made[0]), []);
  t.mock.timers.tick(1);
  await Promise.resolve();
  assert.deepEqual(JSON.parse(asked(FakeSocket.made[0])[0]), { action: "auth", token: jwtWith(start + 3600) });
  FakeSocket.made[0].message({ type: "authorized", exp: start + 3600 });
  assert.equal(client.expiresAt, start + 3600);
  t.mock.timers.tick(3_000_000);
  assert.equal(asked(FakeSocket.made[0]).length, 1);
  client.close();
});

test("refreshAheadMs: null never refreshes; a closed client never refreshes", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  const never = makeClient({ getToken: () => jwtWith(1_000_000_010), refreshAheadMs: null });
  never.connect();
  await Promise.resolve();
  FakeSocket.made[0].open();
  t.mock.timers.tick(20_000);
  assert.deepEqual(asked(FakeSocket.made[0]), []);
  never.close();
  const closed = makeClient({ getToken: () => jwtWith(1_000_000_010) });
  closed.connect();
  await Promise.resolve();
  FakeSocket.made[0].open();
  closed.close();
  t.mock.timers.tick(20_000);
  assert.deepEqual(asked(FakeSocket.made[0]), []);
});

test("a short token is refreshed half-way, never sooner than a second after the last answer", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000_000_000 });
  const client = makeClient({ getToken: () => jwtWith(1_000_000_020), idle: null });
  client.connect();
  await Promise.resolve();
  FakeSocket.made[0].open();
  t.mock.timers.tick(9_999);
  assert.deepEqual(asked(FakeSocket.made[0]), []);
  t.mock.timers.tick(1);
  await Promise.resolve();
  assert.equal(asked(FakeSocket.made[0]).length, 1);
  // The same token again (the auth library had not renewed it yet): the next try halves what is left.
  FakeSocket.made[0].message({ type: "authorized", exp: 1_000_000_020 });
  t.mock.timers.tick(4_999);
  assert.equal(asked(FakeSocket.made[0]).length, 1);
  t.mock.timers.tick(1);
  await Promise.resolve();
  assert.equal(asked(FakeSocket.made[0]).length, 2);
  client.close();
});

/** An event frame with seq `seq` (its id derived from it). */
const event = (seq) => ({ type: "foodLogDeleted", data: { id: `f${seq}` }, id: `e${seq}`, seq });

test("resumed with more: it resumes again from through, not from a live seq past the gap", async (t) => {
  const client = makeClient({ lastSeq: 0 });
  t.after(() => client.close());
  const seen = [];
  client.onAny((frame) => seen.push(frame.seq));
  client.connect();
  await tick();
  const socket = FakeSocket.made[0];
  socket.open();
  socket.message(event(1));
  socket.message(event(9)); // live, overtaking the replay
  socket.message(event(2));
  socket.message({ type: "resumed", through: 2, more: true });
  assert.equal(client.resumePoint, 2);
  for (const seq of [3, 4, 5, 6, 7, 8, 9]) socket.message(event(seq));
  socket.message({ type: "resumed", through: 9 });
  assert.deepEqual(asked(socket), ['{"action":"resume","since":0}', '{"action":"resume","since":2}']);
  assert.deepEqual(seen, [1, 9, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([client.lastSeq, client.resumePoint], [9, 9]);
});

test("no terminal frame in time: it asks again from the same since, then reconnects and resumes there", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = makeClient({ lastSeq: 5, resumeTimeoutMs: 1000, resumeAttempts: 2, idle: null });
  t.after(() => client.close());
  const statuses = [];
  client.onStatus((change) => statuses.push(change.status));
  client.connect();
  await Promise.resolve();
  const first = FakeSocket.made[0];
  first.open();
  first.message(event(9)); // live; the replay of 6..8 never ends
  t.mock.timers.tick(999);
  assert.deepEqual(asked(first), ['{"action":"resume","since":5}']);
  t.mock.timers.tick(1); // unanswered once: ask again (backoff 0 with random() = 0)
  t.mock.timers.tick(0);
  assert.deepEqual(asked(first), ['{"action":"resume","since":5}', '{"action":"resume","since":5}']);
  t.mock.timers.tick(1000); // unanswered twice: reconnect
  assert.deepEqual(first.closedWith, { code: 4000, reason: "resume unanswered" });
  t.mock.timers.tick(0);
  await Promise.resolve();
  const second = FakeSocket.made[1];
  second.open();
  assert.deepEqual(asked(second), ['{"action":"resume","since":5}']);
  assert.deepEqual(statuses, ["connecting", "open", "reconnecting", "connecting", "open"]);
  second.message({ type: "resumed", through: 9 });
  t.mock.timers.tick(10_000);
  assert.equal(asked(second).length, 1);
});

test("a more that makes no progress counts as unanswered: backoff, then a reconnect", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = makeClient({ lastSeq: 3, resumeAttempts: 2, idle: null, random: () => 0.5 });
  t.after(() => client.close());
  client.connect();
  await Promise.resolve();
  const socket = FakeSocket.made[0];
  socket.open();
  socket.message({ type: "resumed", through: 3, more: true });
  assert.equal(asked(socket).length, 1);
  t.mock.timers.tick(249); // backoffDelay(0) = 0.5 * 500
  assert.equal(asked(socket).length, 1);
  t.mock.timers.tick(1);
  assert.deepEqual(asked(socket), ['{"action":"resume","since":3}', '{"action":"resume","since":3}']);
  socket.message({ type: "resumed", through: 3, more: true });
  assert.deepEqual(socket.closedWith, { code: 4000, reason: "resume unanswered" });
});
