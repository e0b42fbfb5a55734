import type { EventType } from "@healthcoach/realtime-web";

import { UnknownEventTypeError } from "./errors.js";
import { SCHEMAS } from "./schemas.generated.js";

/** The bus's `Source` per domain: an event type's prefix names its domain. */
export const SOURCES = Object.freeze({
  foodLog: "healthcoach.food-logs",
  exerciseLog: "healthcoach.exercise-logs",
  healthMetric: "healthcoach.health-metrics",
  healthProfile: "healthcoach.health-profile",
});

/** Every event type of the catalogue (`schemas/`). */
export const EVENT_TYPES = Object.freeze(Object.keys(SCHEMAS) as EventType[]);

/** True when `value` names an event type of the catalogue. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && Object.hasOwn(SCHEMAS, value);
}

/** The bus `Source` of an event type, e.g. `healthcoach.food-logs`. */
export function sourceFor(type: string): string {
  if (isEventType(type)) {
    for (const [prefix, source] of Object.entries(SOURCES)) {
      if (type.startsWith(prefix)) return source;
    }
  }
  throw new UnknownEventTypeError(type);
}
