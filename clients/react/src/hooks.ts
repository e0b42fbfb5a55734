"use client";

import type { EventType, RealtimeEvent } from "@healthcoach/realtime-web";
import { useEffect, useSyncExternalStore } from "react";

import { type ConnectionState, INITIAL_STATE } from "./connection.js";
import { useLatest } from "./latest.js";
import { useRealtimeConnection } from "./provider.js";

/** The events of the given types, discriminated by `type`. */
export type EventOf<T extends EventType> = Extract<RealtimeEvent, { type: T }>;

const noSubscription = (): (() => void) => () => {};

/**
 * The connection's status and the user's open connections, re-rendering on every change:
 *
 *     const { status, connections } = useConnectionState();
 *     return <Badge live={status.status === "open"} devices={connections} />;
 */
export function useConnectionState(): ConnectionState {
  const connection = useRealtimeConnection();
  return useSyncExternalStore(
    connection?.subscribe ?? noSubscription,
    connection?.getState ?? (() => INITIAL_STATE),
    () => INITIAL_STATE,
  );
}

/**
 * Call `callback(event)` for every new event of the given type(s), narrowed to them:
 *
 *     useRealtimeEvent(["foodLogCreated", "foodLogDeleted"], (event) => {
 *       if (event.type === "foodLogCreated") toast(`${event.data.name}: ${event.data.calories} kcal`);
 *     });
 *
 * The callback may change on every render without resubscribing; the types are compared by value.
 */
export function useRealtimeEvent<T extends EventType>(
  types: T | readonly T[],
  callback: (event: EventOf<T>) => void,
): void {
  const connection = useRealtimeConnection();
  const latest = useLatest(callback);
  const key = (typeof types === "string" ? [types] : [...types]).sort().join(",");
  useEffect(() => {
    if (!connection || key === "") return undefined;
    const client = connection.client;
    const offs = key
      .split(",")
      .map((type) => client.on(type as T, (_data, frame) => latest.current(frame as EventOf<T>)));
    return () => {
      for (const off of offs) off();
    };
  }, [connection, key, latest]);
}

/**
 * Call `callback(latestSeq)` when events were missed beyond the server's history (a long
 * offline spell): whatever the page shows must be refetched.
 */
export function useResync(callback: (latestSeq: number) => void): void {
  const connection = useRealtimeConnection();
  const latest = useLatest(callback);
  useEffect(() => connection?.client.onResync((seq) => latest.current(seq)), [connection, latest]);
}
