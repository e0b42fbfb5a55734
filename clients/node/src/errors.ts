/** Base class of the producer's errors. */
export class RealtimeError extends Error {
  override name = "RealtimeError";
}

/** The producer cannot find its bus (no `EVENT_BUS_ARN`, no bus of that name). */
export class ConfigurationError extends RealtimeError {
  override name = "ConfigurationError";
}

/** An event its schema refuses: nothing was sent. `field` and `rule` say what and why. */
export class InvalidEventError extends RealtimeError {
  override name = "InvalidEventError";
  readonly eventType: string;
  readonly field: string;
  readonly rule: string;

  constructor(eventType: string, message: string, { field = "", rule = "" } = {}) {
    super(`invalid ${eventType}: ${message}`);
    this.eventType = eventType;
    this.field = field;
    this.rule = rule;
  }
}

/** A type that is not in the catalogue (`schemas/`). */
export class UnknownEventTypeError extends InvalidEventError {
  override name = "UnknownEventTypeError";

  constructor(eventType: string) {
    super(eventType, `unknown event type ${JSON.stringify(eventType)}`, { field: "type", rule: "enum" });
  }
}

/** An event whose frame would exceed what a WebSocket message may carry. */
export class EventTooLargeError extends InvalidEventError {
  override name = "EventTooLargeError";
}

/** One event the bus did not take, by its index in the call to `emitMany`. */
export interface FailedEvent {
  index: number;
  detailType: string;
  /** The bus's per-entry code, the request's error name, or "NotAttempted" (an earlier call failed). */
  errorCode: string;
  errorMessage: string;
}

/** The bus refused events (or could not be reached); `failed` lists every event not on the bus. */
export class EmitError extends RealtimeError {
  override name = "EmitError";
  readonly failed: FailedEvent[];

  constructor(message: string, failed: FailedEvent[], options?: { cause?: unknown }) {
    super(message, options);
    this.failed = failed;
  }
}
