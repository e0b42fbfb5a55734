// An app file as the HealthCoach frontend would write it: `tsc --strict` must accept it.
import {
  CONTROL_TYPES,
  EVENT_TYPES,
  type ControlFrame,
  type EventType,
  type RealtimeEvent,
  RealtimeClient,
  type ServerFrame,
  parseFrame,
} from "../realtime.js";

type Summary = { kind: string; id: string; detail?: string };

/** Every event type is handled: adding a schema without a case here fails the build. */
export function summarize(event: RealtimeEvent): Summary {
  switch (event.type) {
    case "foodLogCreated":
    case "foodLogUpdated": {
      const calories: number | undefined = event.data.calories;
      const meal: "breakfast" | "lunch" | "dinner" | "snack" | undefined = event.data.mealType;
      return { kind: "food", id: event.data.id, detail: `${meal ?? "meal"}: ${calories ?? 0} kcal` };
    }
    case "foodLogDeleted":
      // @ts-expect-error a deleted event carries only its id
      void event.data.calories;
      return { kind: "food", id: event.data.id };
    case "exerciseLogCreated":
    case "exerciseLogUpdated": {
      const intensity: "low" | "moderate" | "high" | undefined = event.data.intensity;
      return { kind: "exercise", id: event.data.id, detail: intensity ?? "unrated" };
    }
    case "exerciseLogDeleted":
      return { kind: "exercise", id: event.data.id };
    case "healthMetricCreated":
    case "healthMetricUpdated":
      return { kind: "metric", id: event.data.id, detail: `${event.data.metric}=${event.data.value}` };
    case "healthMetricDeleted":
      return { kind: "metric", id: event.data.id };
    case "healthProfileUpdated": {
      const target: number | undefined = event.data.goals?.targetWeightKg;
      return { kind: "profile", id: event.data.id ?? "profile", detail: String(target) };
    }
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** Control frames narrow the same way. */
export function describe(frame: ControlFrame): string {
  switch (frame.type) {
    case "resync":
      return `refetch after ${frame.latestSeq}`;
    case "resumed":
      return `resumed through ${frame.through}`;
    case "authorized":
      return `token valid until ${new Date(frame.exp * 1000).toISOString()}`;
    case "presence":
      return `${frame.connections} open`;
    case "pong":
      return frame.time;
    case "error":
      return frame.message;
    default: {
      const unreachable: never = frame;
      return unreachable;
    }
  }
}

/** The client's API is typed too: `on` narrows `data` to the event type given. */
export function wire(getToken: () => Promise<string>): RealtimeClient {
  const client = new RealtimeClient({
    url: "wss://example.invalid/prod",
    getToken,
    WebSocket: globalThis.WebSocket,
  });
  client.on("healthMetricCreated", (data, frame) => {
    const unit: string | undefined = data.unit;
    const seq: number = frame.seq;
    console.log(unit, seq, frame.type satisfies "healthMetricCreated");
  });
  client.on("exerciseLogDeleted", (data) => {
    // @ts-expect-error a deleted event carries only its id
    console.log(data.durationMinutes);
  });
  client.onAny((event) => console.log(summarize(event)));
  client.onControl((frame) => console.log(describe(frame)));
  client.onStatus(({ status, attempt }) => console.log(status, attempt));
  // @ts-expect-error not an event type
  client.on("foodLogCreatedd", () => {});
  client.send({ action: "resume", since: 3 });
  // @ts-expect-error `since` is a number
  client.send({ action: "resume", since: "3" });
  return client;
}

const frame: ServerFrame | null = parseFrame('{"type": "pong", "time": "2026-01-01T00:00:00Z"}');
const types: readonly EventType[] = EVENT_TYPES;
const controls: readonly ControlFrame["type"][] = CONTROL_TYPES;
console.log(frame, types, controls);
