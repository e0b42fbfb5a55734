// Emit events given as JSON lines on stdin, one at a time and in order, printing each event id:
//
//   echo '{"userId": "user-1", "type": "foodLogCreated", "data": {"id": "f1", "calories": 95}}' \
//     | AWS_REGION=us-east-1 node examples/emit-lines.mjs
//
// Each line is `{"userId", "type", "data", "eventId"?}`. The bus comes from EVENT_BUS_ARN or
// EVENT_BUS_NAME; against the local stack set AWS_ENDPOINT_URL=http://127.0.0.1:3002 (and any
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). An invalid event stops it with exit code 2.
import { createInterface } from "node:readline";

import { InvalidEventError, emit } from "../dist/index.js";

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === "") continue;
  const { userId, type, data, eventId } = JSON.parse(line);
  try {
    console.log(await emit(userId, type, data, { eventId }));
  } catch (error) {
    console.error(`${error.name}: ${error.message}`);
    process.exit(error instanceof InvalidEventError ? 2 : 1);
  }
}
