import type { EventData, EventType } from "@healthcoach/realtime-web";

import { ConfigurationError, EmitError, type FailedEvent, InvalidEventError } from "./errors.js";
import { type DomainEvent, buildEntry, chunkEntries, waves } from "./entries.js";
import { EventBridgeV2Client, type EventBridgeV2Config, type PutEventsEntry } from "./eventsv2.js";

/** The bus's name where neither `EVENT_BUS_ARN` nor `EVENT_BUS_NAME` says otherwise (the local stack's). */
export const DEFAULT_EVENT_BUS = "healthcoach-realtime";
/** Per-entry codes worth another try (the service's own faults and throttling); any other is permanent. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  "InternalFailure",
  "InternalException",
  "ThrottlingException",
]);

/** How often refused entries are sent again: full jitter below a capped exponential. */
export interface EntryRetry {
  /** Every try, the first included (default 4). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const EMIT_RETRY: EntryRetry = Object.freeze({ attempts: 4, baseDelayMs: 100, maxDelayMs: 2000 });

/** The two operations the producer calls (an `EventBridgeV2Client`, or a test's stand-in). */
export type BusClient = Pick<EventBridgeV2Client, "putEvents" | "listEventBuses">;

export interface ProducerOptions {
  /** Default: a new `EventBridgeV2Client` with `clientConfig`. */
  client?: BusClient | undefined;
  clientConfig?: EventBridgeV2Config | undefined;
  /** Default: `EVENT_BUS_ARN`; else the bus named `busName` is looked up once. */
  busArn?: string | undefined;
  /** Default: `EVENT_BUS_NAME`, else `healthcoach-realtime`. */
  busName?: string | undefined;
  retry?: EntryRetry | undefined;
  /** Tests replace the wait between retries of refused entries. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
}

export interface EmitOptions {
  /** A stable id for a change that may be emitted twice: see `DomainEvent.eventId`. */
  eventId?: string | undefined;
}

export interface Producer {
  /**
   * Validate one event against its schema and publish it; resolves to the event id browsers will
   * see (`eventId` when given, else the bus's).
   */
  emit<T extends EventType>(
    userId: string,
    type: T,
    data: EventData<T>,
    options?: EmitOptions,
  ): Promise<string>;
  /**
   * Validate every event first (nothing is sent if one is invalid; its error's message ends
   * with its index, `(events[3])`), then publish them all, each user's in order; resolves to
   * their ids in input order.
   */
  emitMany(events: readonly DomainEvent[]): Promise<string[]>;
  /** The bus ARN it publishes to (looked up by name on first use when not configured). */
  busArn(): Promise<string>;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Find a bus's ARN by exact name (its ARN ends in an id the service chooses). */
export async function findBusArn(client: BusClient, name: string): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = await client.listEventBuses(
      nextToken ? { NamePrefix: name, NextToken: nextToken } : { NamePrefix: name },
    );
    const bus = page.EventBuses?.find((candidate) => candidate.Name === name && candidate.EventBusArn);
    if (bus?.EventBusArn) return bus.EventBusArn;
    nextToken = page.NextToken;
  } while (nextToken);
  throw new ConfigurationError(
    `no event bus named "${name}": set EVENT_BUS_ARN (the stack output EventBusArn)`,
  );
}

/**
 * A producer bound to one bus and client. Each entry carries `EventGroupId` = the user id (the
 * bus's FIFO subscriber keeps one group's order) and, with an `eventId`, `DeduplicationId` = it.
 *
 *     const producer = createProducer();
 *     await producer.emit("user-123", "foodLogCreated", { id: "f1", name: "Apple", calories: 95 });
 */
export function createProducer(options: ProducerOptions = {}): Producer {
  const env = process.env;
  const retry = options.retry ?? EMIT_RETRY;
  const sleep = options.sleep ?? wait;
  const random = options.random ?? Math.random;
  let client = options.client;
  const busClient = (): BusClient => (client ??= new EventBridgeV2Client(options.clientConfig));
  const configuredArn = options.busArn ?? (options.busName ? undefined : env.EVENT_BUS_ARN || undefined);
  const busName = options.busName ?? (env.EVENT_BUS_NAME || DEFAULT_EVENT_BUS);
  let arn: Promise<string> | undefined = configuredArn ? Promise.resolve(configuredArn) : undefined;

  const busArn = (): Promise<string> => {
    arn ??= findBusArn(busClient(), busName).catch((error: unknown) => {
      arn = undefined; // look again next time: the bus may not exist yet
      throw error;
    });
    return arn;
  };

  /** One chunk, sending again only its refused retryable entries; returns what stays refused. */
  async function putChunk(
    bus: string,
    entries: readonly PutEventsEntry[],
    chunk: readonly number[],
    eventIds: string[],
  ): Promise<Map<number, [string, string]>> {
    let pending = chunk;
    const refused = new Map<number, [string, string]>();
    for (let attempt = 0; attempt < Math.max(1, retry.attempts); attempt += 1) {
      if (attempt > 0) {
        await sleep(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
      }
      const output = await busClient().putEvents({
        EventBusArn: bus,
        Entries: pending.map((index) => entries[index]!),
      });
      const results = output.Entries ?? [];
      if (results.length !== pending.length) {
        throw new Error(`PutEvents answered ${results.length} results for ${pending.length} entries`);
      }
      const again: number[] = [];
      pending.forEach((index, position) => {
        const result = results[position]!;
        if (result.ErrorCode) {
          refused.set(index, [result.ErrorCode, result.ErrorMessage ?? ""]);
          if (RETRYABLE_ERROR_CODES.has(result.ErrorCode)) again.push(index);
        } else {
          eventIds[index] = result.EventId ?? "";
          refused.delete(index);
        }
      });
      if (again.length === 0) break;
      pending = again;
    }
    return refused;
  }

  function emitError(
    entries: readonly PutEventsEntry[],
    refused: Map<number, [string, string]>,
    later: readonly number[][],
    cause?: unknown,
  ): EmitError {
    const failed: FailedEvent[] = [...refused.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, [errorCode, errorMessage]]) => ({
        index,
        detailType: entries[index]!.DetailType,
        errorCode,
        errorMessage,
      }));
    for (const index of later.flat()) {
      failed.push({
        index,
        detailType: entries[index]!.DetailType,
        errorCode: "NotAttempted",
        errorMessage: "not sent: an earlier call failed",
      });
    }
    const codes = [...new Set([...refused.values()].map(([code]) => code))].sort();
    return new EmitError(
      `the event bus refused ${refused.size} of ${entries.length} events (${codes.join(", ")}); ` +
        `${failed.length - refused.size} more not sent`,
      failed,
      cause === undefined ? undefined : { cause },
    );
  }

  async function emitMany(events: readonly DomainEvent[]): Promise<string[]> {
    const entries = events.map((event, index) => {
      try {
        return buildEntry(event);
      } catch (error) {
        if (error instanceof InvalidEventError && events.length > 1) {
          error.message = `${error.message} (events[${index}])`;
        }
        throw error;
      }
    });
    if (entries.length === 0) return [];
    const bus = await busArn();
    const eventIds = entries.map(() => "");
    // A wave starts only once the one before it is on the bus: a user's k-th event never
    // overtakes its (k-1)-th, even when that one had to be sent again.
    const calls = waves(entries).flatMap((wave) => chunkEntries(entries, wave));
    for (const [number, chunk] of calls.entries()) {
      let refused: Map<number, [string, string]>;
      try {
        refused = await putChunk(bus, entries, chunk, eventIds);
      } catch (error) {
        const name = error instanceof Error ? error.name : "Error";
        const message = error instanceof Error ? error.message : String(error);
        const unsent = new Map<number, [string, string]>();
        for (const index of chunk) if (!eventIds[index]) unsent.set(index, [name, message]);
        throw emitError(entries, unsent, calls.slice(number + 1), error);
      }
      if (refused.size > 0) throw emitError(entries, refused, calls.slice(number + 1));
    }
    return events.map((event, index) => event.eventId ?? eventIds[index]!);
  }

  return {
    emit: async (userId, type, data, emitOptions = {}) => {
      // `type` and `data` agree by emit's signature; TypeScript cannot relate them inside a union.
      const event = { userId, type, data, eventId: emitOptions.eventId } as DomainEvent;
      return (await emitMany([event]))[0]!;
    },
    emitMany,
    busArn,
  };
}
