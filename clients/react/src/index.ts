"use client";

export type { ConnectionState } from "./connection.js";
export { type EventOf, useConnectionState, useRealtimeEvent, useResync } from "./hooks.js";
export {
  DEFAULT_QUERY_KEYS,
  type InvalidationOptions,
  type QueryKeyMap,
  allQueryKeys,
  useInvalidateQueriesOnEvents,
} from "./invalidation.js";
export {
  type ClientOptions,
  RealtimeProvider,
  type RealtimeProviderProps,
  urlFromEnv,
  useRealtimeConnection,
} from "./provider.js";
