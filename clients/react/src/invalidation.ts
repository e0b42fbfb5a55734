"use client";

import type { EventType } from "@healthcoach/realtime-web";
import { type QueryKey, useQueryClient } from "@tanstack/react-query";

import { type EventOf, useRealtimeEvent, useResync } from "./hooks.js";
import { useLatest } from "./latest.js";

/** For each event type, the query keys it makes stale (prefixes: `["foodLogs"]` covers `["foodLogs", day]`). */
export type QueryKeyMap = { readonly [T in EventType]?: readonly QueryKey[] };

/**
 * The HealthCoach app's data, one query-key prefix per domain; pass your own map when the app's
 * keys differ (or when an event should also refresh, say, a daily summary).
 */
export const DEFAULT_QUERY_KEYS: QueryKeyMap = Object.freeze({
  foodLogCreated: [["foodLogs"]],
  foodLogUpdated: [["foodLogs"]],
  foodLogDeleted: [["foodLogs"]],
  exerciseLogCreated: [["exerciseLogs"]],
  exerciseLogUpdated: [["exerciseLogs"]],
  exerciseLogDeleted: [["exerciseLogs"]],
  healthMetricCreated: [["healthMetrics"]],
  healthMetricUpdated: [["healthMetrics"]],
  healthMetricDeleted: [["healthMetrics"]],
  healthProfileUpdated: [["healthProfile"]],
});

/** Every key of the map once (by value), for a resync: all of it may be stale. */
export function allQueryKeys(map: QueryKeyMap): QueryKey[] {
  const seen = new Map<string, QueryKey>();
  for (const keys of Object.values(map)) {
    for (const key of keys ?? []) seen.set(JSON.stringify(key), key);
  }
  return [...seen.values()];
}

export interface InvalidationOptions {
  /** Called after each invalidation, e.g. to log like the guide: `Refreshed food logs (foodLogCreated)`. */
  onInvalidate?: ((keys: readonly QueryKey[], cause: EventOf<EventType> | "resync") => void) | undefined;
}

/**
 * Invalidate TanStack Query queries when events arrive, so pages drop `refetchInterval`: each
 * event marks the queries under its keys stale (active ones refetch now, the others on their next
 * use); a resync marks every key of the map. Call it once, inside both providers:
 *
 *     function LiveQueries() {
 *       useInvalidateQueriesOnEvents();
 *       return null;
 *     }
 */
export function useInvalidateQueriesOnEvents(
  map: QueryKeyMap = DEFAULT_QUERY_KEYS,
  options: InvalidationOptions = {},
): void {
  const queryClient = useQueryClient();
  const latestMap = useLatest(map);
  const latestOptions = useLatest(options);
  const invalidate = (keys: readonly QueryKey[], cause: EventOf<EventType> | "resync"): void => {
    for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    latestOptions.current.onInvalidate?.(keys, cause);
  };
  const types = (Object.keys(map) as EventType[]).filter((type) => (map[type]?.length ?? 0) > 0);
  useRealtimeEvent(types, (event) => invalidate(latestMap.current[event.type] ?? [], event));
  useResync(() => invalidate(allQueryKeys(latestMap.current), "resync"));
}
