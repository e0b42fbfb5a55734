import type { EventType } from "@healthcoach/realtime-web";
import ajvDraft04, { type ErrorObject, type ValidateFunction } from "ajv-draft-04";
import ajvFormats from "ajv-formats";

import { isEventType } from "./catalogue.js";
import { InvalidEventError, UnknownEventTypeError } from "./errors.js";
import { SCHEMAS } from "./schemas.generated.js";

// Both are CommonJS modules whose `module.exports` also carries itself as `default`.
const Ajv = ajvDraft04.default;
const addFormats = ajvFormats.default;

let ajv: InstanceType<typeof Ajv> | undefined;
const compiled = new Map<EventType, ValidateFunction>();

/** Compiled once per type and process, on first use (a cold Lambda compiles only what it emits). */
function validatorFor(type: EventType): ValidateFunction {
  let validate = compiled.get(type);
  if (!validate) {
    ajv ??= addFormats(new Ajv({ allErrors: false }), ["date-time"]);
    validate = ajv.compile(SCHEMAS[type]);
    compiled.set(type, validate);
  }
  return validate;
}

/** `detail.data.calories` for ajv's `/data/calories`, and the property a `required` names. */
function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const named = params.missingProperty ?? params.additionalProperty;
  return ["detail", ...path, ...(named === undefined ? [] : [named])].join(".");
}

/**
 * Check an event's `detail` (`{userId, data, eventId?}`) against its schema. Throws
 * `InvalidEventError` naming the field and the rule, e.g.
 * `invalid foodLogCreated: detail.data.calories must be >= 0`.
 */
export function validateDetail(type: string, detail: unknown): void {
  if (!isEventType(type)) throw new UnknownEventTypeError(type);
  const validate = validatorFor(type);
  if (validate(detail)) return;
  const error = validate.errors?.[0];
  if (!error) throw new InvalidEventError(type, "detail does not match its schema");
  const field = fieldOf(error);
  const message =
    error.keyword === "required"
      ? "is required"
      : error.keyword === "additionalProperties"
        ? "is not allowed here"
        : (error.message ?? "is not valid");
  throw new InvalidEventError(type, `${field} ${message}`, { field, rule: error.keyword });
}
