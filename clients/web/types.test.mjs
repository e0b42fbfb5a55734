// The generated types agree with schemas/ and with realtime.js, and `tsc --strict` uses them as an
// app would: `npm test` in clients/web (after `npm ci`).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import * as realtime from "./realtime.js";
import { OUTPUT, SCHEMA_DIR, generateTypes } from "./scripts/generate-types.mjs";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL("./", import.meta.url));
const TSC = fileURLToPath(new URL("./node_modules/.bin/tsc", import.meta.url));

/** `tsc -p <config>` in this directory: its exit code and output. */
async function tsc(config) {
  try {
    const { stdout } = await run(TSC, ["-p", config], { cwd: HERE });
    return { code: 0, output: stdout };
  } catch (error) {
    if (typeof error.code !== "number") throw error;
    return { code: error.code, output: `${error.stdout}${error.stderr}` };
  }
}

const declarations = await readFile(OUTPUT, "utf8");

test("the checked-in realtime.d.ts is what the generator makes of schemas/ (else: npm run generate)", async () => {
  assert.equal(
    declarations,
    await generateTypes(),
    "realtime.d.ts is stale: run `npm run generate` in clients/web",
  );
});

test("realtime.js lists exactly the event types of schemas/", async () => {
  const files = (await readdir(SCHEMA_DIR)).filter((name) => name.endsWith(".json"));
  const fromSchemas = files.map((name) => name.slice(0, -".json".length)).sort();
  assert.deepEqual([...realtime.EVENT_TYPES].sort(), fromSchemas);
});

test("every export of realtime.js is declared in realtime.d.ts, and every declared value exists", () => {
  const declared = [...declarations.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(declared.sort(), Object.keys(realtime).sort());
});

test("CONTROL_TYPES in realtime.js are the control frames realtime.d.ts declares", () => {
  const union = declarations.match(/^export type ControlFrame = ([^;]+);/m);
  assert.ok(union, "realtime.d.ts declares ControlFrame");
  const frameTypes = union[1].split("|").map((name) => {
    const body = declarations.match(
      new RegExp(`^export interface ${name.trim()} \\{\\n  type: "(\\w+)";`, "m"),
    );
    assert.ok(body, `realtime.d.ts declares ${name.trim()} with a literal type`);
    return body[1];
  });
  assert.deepEqual([...realtime.CONTROL_TYPES].sort(), frameTypes.sort());
});

test("tsc --strict accepts an app that switches over RealtimeEvent exhaustively and reads typed fields", async () => {
  const { code, output } = await tsc("type-tests/tsconfig.json");
  assert.equal(output, "");
  assert.equal(code, 0);
});

test("tsc --strict rejects a switch missing an event type, and calories on a deleted event", async () => {
  const { code, output } = await tsc("type-tests/tsconfig.rejects.json");
  assert.notEqual(code, 0);
  const errors = output.split("\n").filter((line) => /error TS\d+/.test(line));
  assert.equal(errors.length, 2, output);
  assert.match(
    errors[0],
    /rejects\.ts\(18,\d+\): error TS2322: .*"healthProfileUpdated".* not assignable to type 'never'/,
  );
  assert.match(
    errors[1],
    /rejects\.ts\(25,\d+\): error TS2339: Property 'calories' does not exist on type 'FoodLogDeletedData'/,
  );
});
