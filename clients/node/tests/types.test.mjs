// The producer's types as a Lambda sees them (dist/*.d.ts): `tsc --strict` on tests/types/handler.ts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("../", import.meta.url));
const TSC = fileURLToPath(new URL("../node_modules/.bin/tsc", import.meta.url));

test("tsc --strict accepts typed emits and rejects data its schema does not allow", async () => {
  const { stdout, stderr } = await run(TSC, ["-p", "tests/types/tsconfig.json"], { cwd: PACKAGE }).catch(
    (error) => error,
  );
  assert.equal(`${stdout}${stderr}`, "");
});
