// The producer's catalogue and entries: generated from schemas/, validated as the bus carries them.
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { test } from "node:test";

import {
  EVENT_TYPES,
  EventTooLargeError,
  InvalidEventError,
  MAX_REQUEST_BYTES,
  buildEntry,
  chunkEntries,
  entrySize,
  sourceFor,
} from "../dist/index.js";
import { OUTPUT, SCHEMA_DIR, generateSchemas } from "../scripts/generate-schemas.mjs";

test("the checked-in schemas.generated.ts is what the generator makes of schemas/ (else: npm run generate)", async () => {
  assert.equal(
    await readFile(OUTPUT, "utf8"),
    await generateSchemas(),
    "stale: run `npm run generate` in clients/node",
  );
});

test("EVENT_TYPES are the files of schemas/, and each has a healthcoach.* Source", async () => {
  const files = (await readdir(SCHEMA_DIR))
    .filter((name) => name.endsWith(".json"))
    .map((name) => name.slice(0, -5));
  assert.deepEqual([...EVENT_TYPES].sort(), files.sort());
  for (const type of EVENT_TYPES) assert.match(sourceFor(type), /^healthcoach\.[a-z-]+$/);
});

test("a detail is validated after a JSON round trip: NaN (sent as null) and non-JSON values are refused", () => {
  assert.throws(() => buildEntry({ userId: "u", type: "foodLogCreated", data: { id: "f", calories: NaN } }), {
    field: "detail.data.calories",
    rule: "type",
  });
  assert.throws(() => buildEntry({ userId: "u", type: "foodLogCreated", data: { id: "f", calories: 10n } }), {
    field: "detail.data",
    rule: "json",
  });
});

test("formats and patterns of the schemas are checked (date-time, the profile's birthDate)", () => {
  assert.throws(
    () => buildEntry({ userId: "u", type: "foodLogCreated", data: { id: "f", loggedAt: "yesterday" } }),
    {
      field: "detail.data.loggedAt",
      rule: "format",
    },
  );
  assert.throws(
    () => buildEntry({ userId: "u", type: "healthProfileUpdated", data: { birthDate: "1/2/1990" } }),
    {
      field: "detail.data.birthDate",
      rule: "pattern",
    },
  );
  const ok = buildEntry({
    userId: "u",
    type: "foodLogCreated",
    data: { id: "f", loggedAt: "2026-12-01T08:30:00Z" },
  });
  assert.equal(ok.DetailType, "foodLogCreated");
});

test("data whose frame would exceed 128 KB is EventTooLargeError, an InvalidEventError", () => {
  const data = { id: "f", notes: "ok", extra: "é".repeat(70 * 1024) };
  assert.throws(
    () => buildEntry({ userId: "u", type: "foodLogCreated", data }),
    (error) => {
      assert.ok(error instanceof EventTooLargeError && error instanceof InvalidEventError);
      assert.equal(error.rule, "maxFrameBytes");
      return true;
    },
  );
});

test("calls are cut at 1 MB as entries are counted: UTF-8 bytes of Source, DetailType, Detail, metadata", () => {
  const entry = buildEntry({
    userId: "u",
    type: "foodLogCreated",
    data: { id: "f", notes: "x".repeat(1000) },
  });
  assert.equal(
    entrySize(entry),
    Buffer.byteLength(entry.Source) +
      Buffer.byteLength(entry.DetailType) +
      Buffer.byteLength(entry.Detail) +
      1,
  );
  const big = { Source: "s", DetailType: "d", Detail: "x".repeat(400 * 1024) };
  assert.deepEqual(chunkEntries([big, big, big, big, big]), [[0, 1], [2, 3], [4]]);
  assert.ok(2 * entrySize(big) <= MAX_REQUEST_BYTES && 3 * entrySize(big) > MAX_REQUEST_BYTES);
});
