// What `tsc --strict` must refuse: a switch that misses an event type, and a field a deleted
// event does not carry. The test expects exactly these two errors.
import type { RealtimeEvent } from "../realtime.js";

export function missingCase(event: RealtimeEvent): string {
  switch (event.type) {
    case "foodLogCreated":
    case "foodLogUpdated":
    case "foodLogDeleted":
    case "exerciseLogCreated":
    case "exerciseLogUpdated":
    case "exerciseLogDeleted":
    case "healthMetricCreated":
    case "healthMetricUpdated":
    case "healthMetricDeleted":
      return event.data.id;
    default: {
      const unreachable: never = event; // healthProfileUpdated is not handled
      return unreachable;
    }
  }
}

export function caloriesOfDeleted(event: RealtimeEvent): unknown {
  return event.type === "foodLogDeleted" ? event.data.calories : undefined;
}
