// The provider and hooks rendered by React into jsdom, connected over a real loopback WebSocket
// to a fake server: `npm test` in clients/react (builds dist/ first).
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, test } from "node:test";

import { render, waitFor } from "./dom.mjs";
import { startFakeServer } from "./fake-server.mjs";

const { StrictMode, createElement: h } = await import("react");
const { QueryClient, QueryClientProvider, useQuery } = await import("@tanstack/react-query");
const { WebSocket } = await import("ws");
const {
  DEFAULT_QUERY_KEYS,
  RealtimeProvider,
  allQueryKeys,
  useConnectionState,
  useInvalidateQueriesOnEvents,
  useRealtimeEvent,
} = await import("../dist/index.js");

// Reconnect at once (full jitter of 0) and never ping: the tests drive every frame.
const OPTIONS = { WebSocket, random: () => 0, idle: null };
const QUERIES = [
  ["foodLogs"],
  ["foodLogs", "2026-12-01"],
  ["exerciseLogs"],
  ["healthMetrics"],
  ["healthProfile"],
  ["coachTips"],
];

let server;
let mounted;

before(async () => {
  server = await startFakeServer({ presence: 2 });
});

after(() => server.close());

beforeEach(() => {
  process.env.NEXT_PUBLIC_WS_URL = server.url;
});

afterEach(async () => {
  await mounted?.unmount();
  mounted = undefined;
  await waitFor(() => server.sockets.size === 0, "the previous test's socket to close");
});

/** A page that reads every query of QUERIES; `fetches` counts each key's fetches. */
function pageWithQueries() {
  const fetches = new Map(QUERIES.map((key) => [JSON.stringify(key), 0]));
  function Query({ queryKey }) {
    useQuery({
      queryKey,
      queryFn: async () => {
        const name = JSON.stringify(queryKey);
        fetches.set(name, fetches.get(name) + 1);
        return fetches.get(name);
      },
    });
    return null;
  }
  const children = QUERIES.map((queryKey) => h(Query, { key: JSON.stringify(queryKey), queryKey }));
  const count = (key) => fetches.get(JSON.stringify(key));
  return { children, count, fetches };
}

function LiveQueries({ log }) {
  useInvalidateQueriesOnEvents(DEFAULT_QUERY_KEYS, {
    onInvalidate: (keys, cause) => log?.push([cause, keys]),
  });
  return null;
}

function StatusLine() {
  const { status, connections } = useConnectionState();
  return h("p", { id: "status" }, `${status.status} ${connections ?? "?"}`);
}

function app(children, props = {}) {
  // gcTime Infinity: no garbage-collection timer keeps the test process alive after the last test.
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false, staleTime: Infinity, gcTime: Infinity } },
  });
  return h(
    QueryClientProvider,
    { client: queryClient },
    h(RealtimeProvider, { getToken: () => "token-1", options: OPTIONS, ...props }, children),
  );
}

test("one connection per app, at NEXT_PUBLIC_WS_URL with the token callback's token, however many hooks", async () => {
  const tokensBefore = server.tokens.length;
  mounted = await render(
    app([h(StatusLine, { key: "a" }), h(StatusLine, { key: "b" }), h(LiveQueries, { key: "c" })]),
  );
  await waitFor(() => mounted.container.textContent === "open 2open 2", "both status lines to show open");
  assert.equal(server.sockets.size, 1);
  assert.deepEqual(server.tokens.slice(tokensBefore), ["token-1"]);
});

test("in StrictMode (Next.js in development: effects run twice) one connection stays open", async () => {
  mounted = await render(h(StrictMode, null, app(h(StatusLine))));
  await waitFor(() => mounted.container.textContent === "open 2", "the status line to show open");
  await waitFor(() => server.sockets.size === 1, "the first, discarded connection to close");
  // The UI follows the connection that stayed, not the one StrictMode's cleanup closed.
  assert.equal(mounted.container.textContent, "open 2");
});

test("status and presence reach the UI", async () => {
  mounted = await render(app(h(StatusLine)));
  assert.match(mounted.container.textContent, /^(idle|connecting) \?$/);
  await waitFor(() => mounted.container.textContent === "open 2", "status open with 2 connections");
  server.send({ type: "presence", connections: 3 });
  await waitFor(() => mounted.container.textContent === "open 3", "presence to follow the server");
});

test("an event invalidates exactly its queries: foodLogCreated refetches food logs only", async () => {
  const page = pageWithQueries();
  const log = [];
  mounted = await render(
    app([h(LiveQueries, { key: "live", log }), ...page.children, h(StatusLine, { key: "s" })]),
  );
  await waitFor(() => [...page.fetches.values()].every((n) => n === 1), "every query's first fetch");
  await waitFor(() => mounted.container.textContent.startsWith("open"), "the connection to open");

  server.push("foodLogCreated", { id: "f1", name: "Apple", calories: 95 });
  await waitFor(
    () => page.count(["foodLogs"]) === 2 && page.count(["foodLogs", "2026-12-01"]) === 2,
    "food logs refetched",
  );
  // A later event of another domain: once it is handled, the first one has been too.
  server.push("healthProfileUpdated", { weightKg: 70 });
  await waitFor(() => page.count(["healthProfile"]) === 2, "the profile refetched");

  assert.deepEqual(Object.fromEntries(page.fetches), {
    '["foodLogs"]': 2,
    '["foodLogs","2026-12-01"]': 2,
    '["exerciseLogs"]': 1,
    '["healthMetrics"]': 1,
    '["healthProfile"]': 2,
    '["coachTips"]': 1,
  });
  assert.deepEqual(
    log.map(([cause, keys]) => [cause.type, keys]),
    [
      ["foodLogCreated", [["foodLogs"]]],
      ["healthProfileUpdated", [["healthProfile"]]],
    ],
  );
});

test("a resync invalidates every key of the map and nothing else", async () => {
  const page = pageWithQueries();
  mounted = await render(
    app([h(LiveQueries, { key: "live" }), ...page.children, h(StatusLine, { key: "s" })]),
  );
  await waitFor(() => [...page.fetches.values()].every((n) => n === 1), "every query's first fetch");
  await waitFor(() => mounted.container.textContent.startsWith("open"), "the connection to open");

  server.send({ type: "resync", latestSeq: 99 });
  await waitFor(
    () =>
      ["foodLogs", "exerciseLogs", "healthMetrics", "healthProfile"].every(
        (name) => page.count([name]) === 2,
      ),
    "every mapped query refetched",
  );
  assert.equal(page.count(["foodLogs", "2026-12-01"]), 2);
  assert.equal(page.count(["coachTips"]), 1);
});

test("useRealtimeEvent hands over events of its types only, typed frames with data", async () => {
  const seen = [];
  function Deletions() {
    useRealtimeEvent(["foodLogDeleted", "exerciseLogDeleted"], (event) =>
      seen.push([event.type, event.data]),
    );
    return null;
  }
  mounted = await render(app([h(Deletions, { key: "d" }), h(StatusLine, { key: "s" })]));
  await waitFor(() => mounted.container.textContent.startsWith("open"), "the connection to open");
  server.push("foodLogCreated", { id: "f1" });
  server.push("foodLogDeleted", { id: "f1" });
  server.push("exerciseLogDeleted", { id: "x1" });
  await waitFor(() => seen.length === 2, "two deletions");
  assert.deepEqual(seen, [
    ["foodLogDeleted", { id: "f1" }],
    ["exerciseLogDeleted", { id: "x1" }],
  ]);
});

test("a new getToken on re-render keeps the connection; the next reconnect calls it", async () => {
  const tokensBefore = server.tokens.length;
  mounted = await render(app(h(StatusLine), { getToken: () => "token-1" }));
  await waitFor(() => mounted.container.textContent.startsWith("open"), "the connection to open");
  await mounted.rerender(app(h(StatusLine), { getToken: () => "token-2" }));
  assert.equal(server.sockets.size, 1);

  server.drop();
  await waitFor(() => server.tokens.length === tokensBefore + 2 && server.sockets.size === 1, "a reconnect");
  assert.deepEqual(server.tokens.slice(tokensBefore), ["token-1", "token-2"]);
});

test("unmounting the provider closes its connection", async () => {
  mounted = await render(app(h(StatusLine)));
  await waitFor(() => server.sockets.size === 1, "the connection to open");
  const closedBefore = server.closed.length;
  await mounted.unmount();
  mounted = undefined;
  await waitFor(() => server.closed.length === closedBefore + 1, "the server to see the close");
  assert.equal(server.sockets.size, 0);
});

test("without NEXT_PUBLIC_WS_URL or a url the provider fails with a message that names the variable", async () => {
  delete process.env.NEXT_PUBLIC_WS_URL;
  await assert.rejects(render(app(h(StatusLine))), /no WebSocket URL: set NEXT_PUBLIC_WS_URL or pass `url`/);
  assert.equal(server.sockets.size, 0);
});

test("allQueryKeys lists every key of a map once", () => {
  assert.deepEqual(
    allQueryKeys({ foodLogCreated: [["foodLogs"], ["summary"]], foodLogDeleted: [["foodLogs"]] }),
    [["foodLogs"], ["summary"]],
  );
});
