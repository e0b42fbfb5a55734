import type { EventData, EventType } from "@healthcoach/realtime-web";

import { sourceFor } from "./catalogue.js";
import { EventTooLargeError, InvalidEventError } from "./errors.js";
import type { PutEventsEntry } from "./eventsv2.js";
import { validateDetail } from "./validation.js";

/** PutEvents takes at most 100 entries and 1 MB per call. */
export const MAX_ENTRIES_PER_CALL = 100;
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** API Gateway's WebSocket message limit: the browser's frame must fit in it. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Room in the frame for what the dispatcher adds: `id`, `time`, `seq`. */
export const FRAME_HEADROOM_BYTES = 256;

/**
 * One event for one user: `type` a catalogue event type, `data` its payload. With no type
 * argument it is the union over every type, so each element of an array is checked against
 * its own `type`.
 */
export type DomainEvent<T extends EventType = EventType> = {
  [K in T]: {
    userId: string;
    type: K;
    data: EventData<K>;
    /**
     * A stable id for a change that may be emitted twice (a retried batch): browsers see it as
     * the frame's `id` (so they drop the repeat) and the bus drops a repeat within five minutes.
     */
    eventId?: string | undefined;
  };
}[T];

const utf8 = (text: string): number => Buffer.byteLength(text, "utf8");

/**
 * The PutEvents entry of a valid event; throws `InvalidEventError` (or `EventTooLargeError`) for
 * an invalid one. The detail is validated as the bus will carry it: after a JSON round trip (so
 * `NaN` is the `null` JSON makes of it, and is refused).
 */
export function buildEntry(event: DomainEvent): PutEventsEntry {
  const detail: Record<string, unknown> = { userId: event.userId, data: event.data };
  if (event.eventId !== undefined) detail.eventId = event.eventId;
  let json: string;
  try {
    json = JSON.stringify(detail);
  } catch (error) {
    throw new InvalidEventError(event.type, `detail.data is not JSON: ${(error as Error).message}`, {
      field: "detail.data",
      rule: "json",
    });
  }
  const sent = JSON.parse(json) as { data: unknown };
  validateDetail(event.type, sent);
  const frameBytes =
    utf8(JSON.stringify({ type: event.type, data: sent.data, id: "", time: "" })) + FRAME_HEADROOM_BYTES;
  if (frameBytes > MAX_MESSAGE_BYTES) {
    throw new EventTooLargeError(
      event.type,
      `detail.data makes a ${frameBytes}-byte frame (with room for id and time); ` +
        `a WebSocket message holds at most ${MAX_MESSAGE_BYTES} bytes`,
      { field: "detail.data", rule: "maxFrameBytes" },
    );
  }
  return {
    Source: sourceFor(event.type),
    DetailType: event.type,
    Detail: json,
    SystemMetadata:
      event.eventId === undefined
        ? { EventGroupId: event.userId }
        : { EventGroupId: event.userId, DeduplicationId: event.eventId },
  };
}

/**
 * An entry's size as EventBridge counts it: Source, DetailType, Detail and each Resource in
 * UTF-8, Time 14 bytes; the system metadata's ids are counted too (nothing says whether they
 * count, so the estimate errs on the large side).
 */
export function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail ?? "");
  for (const resource of entry.Resources ?? []) size += utf8(resource);
  for (const value of Object.values(entry.SystemMetadata ?? {})) size += utf8(String(value));
  return size;
}

/**
 * Indexes of `entries` in waves: wave k holds the k-th entry of each event group, in order. No
 * wave holds two entries of one group, so a refused entry sent again can never land behind a
 * later entry of its group that the same call published. Entries without a group have no order
 * to keep: each is a group of its own.
 */
export function waves(entries: readonly PutEventsEntry[]): number[][] {
  const result: number[][] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const group = entry.SystemMetadata?.EventGroupId;
    const number = group === undefined ? 0 : (seen.get(group) ?? 0);
    if (group !== undefined) seen.set(group, number + 1);
    if (number === result.length) result.push([]);
    result[number]!.push(index);
  });
  return result;
}

/**
 * `indexes` of `entries` (default: all) grouped, in order, into calls of at most `maxEntries`
 * entries and `maxBytes` bytes. An entry larger than `maxBytes` gets a call of its own (the bus
 * will refuse it; `buildEntry` refuses anything near that size).
 */
export function chunkEntries(
  entries: readonly PutEventsEntry[],
  indexes: readonly number[] = entries.map((_, index) => index),
  { maxEntries = MAX_ENTRIES_PER_CALL, maxBytes = MAX_REQUEST_BYTES } = {},
): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let currentBytes = 0;
  for (const index of indexes) {
    const size = entrySize(entries[index]!);
    if (current.length > 0 && (current.length >= maxEntries || currentBytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(index);
    currentBytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
