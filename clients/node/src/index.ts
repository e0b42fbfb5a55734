// Emit HealthCoach Realtime events from Node (a TypeScript Lambda, a script):
//
//   import { emit } from "@healthcoach/realtime-producer";
//   await emit("user-123", "foodLogCreated", { id: "f1", name: "Apple", calories: 95 });
//
// Each event is validated against its schema (`schemas/`, compiled by ajv) before anything is
// sent, then published to the Custom Event Bus with `EventGroupId` = the user id, so each user's
// events reach the browser in the order they were emitted.
import type { EventData, EventType } from "@healthcoach/realtime-web";

import type { DomainEvent } from "./entries.js";
import { type EmitOptions, type Producer, createProducer } from "./producer.js";

export { EVENT_TYPES, SOURCES, isEventType, sourceFor } from "./catalogue.js";
export {
  FRAME_HEADROOM_BYTES,
  MAX_ENTRIES_PER_CALL,
  MAX_MESSAGE_BYTES,
  MAX_REQUEST_BYTES,
  type DomainEvent,
  buildEntry,
  chunkEntries,
  entrySize,
  waves,
} from "./entries.js";
export {
  ConfigurationError,
  EmitError,
  EventTooLargeError,
  type FailedEvent,
  InvalidEventError,
  RealtimeError,
  UnknownEventTypeError,
} from "./errors.js";
export {
  EventBridgeV2Client,
  type EventBridgeV2Config,
  EventsV2ServiceError,
  type PutEventsEntry,
  resolveEndpoint,
} from "./eventsv2.js";
export {
  DEFAULT_EVENT_BUS,
  EMIT_RETRY,
  type EmitOptions,
  type EntryRetry,
  type Producer,
  type ProducerOptions,
  RETRYABLE_ERROR_CODES,
  createProducer,
  findBusArn,
} from "./producer.js";
export { validateDetail } from "./validation.js";
export type { EventData, EventType, RealtimeEvent } from "@healthcoach/realtime-web";

let shared: Producer | undefined;

/** The process's producer, made on first use from the environment (a warm Lambda reuses it). */
function defaultProducer(): Producer {
  shared ??= createProducer();
  return shared;
}

/**
 * Validate one event and publish it with the process's producer (configured by `AWS_REGION`,
 * `EVENT_BUS_ARN` or `EVENT_BUS_NAME`, `AWS_ENDPOINT_URL`); resolves to the event id browsers see.
 * Throws `InvalidEventError` (naming field and rule) before sending anything, or `EmitError`.
 */
export function emit<T extends EventType>(
  userId: string,
  type: T,
  data: EventData<T>,
  options?: EmitOptions,
): Promise<string> {
  return defaultProducer().emit(userId, type, data, options);
}

/** `emitMany` of the process's producer: all validated first, each user's events in order. */
export function emitMany(events: readonly DomainEvent[]): Promise<string[]> {
  return defaultProducer().emitMany(events);
}
