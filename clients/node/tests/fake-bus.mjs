// A loopback HTTP server that answers EventBridge v2's RPC v2 CBOR protocol from a script, and
// records every request (operation, headers, decoded body) for the tests to inspect.
import { createServer } from "node:http";

import { cbor } from "@smithy/core/cbor";

export const BUS_ARN =
  "arn:aws:events:us-east-1:123456789012:event-busv2/healthcoach-realtime/abcdefghijklmnopqrstuvwxy";

/**
 * `answer(operation, input, request)` returns `{ status?, body?, protocol? }` (status 200, the
 * CBOR body, and `smithy-protocol: rpc-v2-cbor` unless `protocol` is false) for each request.
 */
export async function startFakeBus(answer) {
  const requests = [];
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    const operation = request.url.split("/operation/")[1];
    const input = bytes.length ? cbor.deserialize(new Uint8Array(bytes)) : {};
    const record = { method: request.method, path: request.url, headers: request.headers, operation, input };
    requests.push(record);
    const { status = 200, body = {}, protocol = true } = await answer(operation, input, record);
    const payload = Buffer.from(cbor.serialize(body));
    response.writeHead(status, {
      "content-type": "application/cbor",
      "content-length": payload.length,
      ...(protocol ? { "smithy-protocol": "rpc-v2-cbor" } : {}),
    });
    response.end(payload);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A PutEvents answer that publishes every entry, with ids `ev-<n>` in request order. */
export function publishAll(input, offset = 0) {
  return {
    body: {
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, n) => ({
        EventId: `ev-${offset + n}`,
        SequenceNumber: String(offset + n),
        SuccessCode: "PUBLISHED",
      })),
    },
  };
}
