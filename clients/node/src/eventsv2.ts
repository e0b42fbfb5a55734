// A client for the two EventBridge v2 (Custom Event Bus) operations a producer needs, PutEvents
// and ListEventBuses, built from the AWS SDK for JavaScript's own parts: the Smithy RPC v2 CBOR
// codec (`@smithy/core/cbor`), SigV4 (`@smithy/signature-v4`), the default credential chain
// (`@aws-sdk/credential-provider-node`), the Node HTTP handler and the SDK's standard retry
// strategy. The SDK publishes no `@aws-sdk/client-eventbridgev2`; its generated clients are these
// same parts plus generated schemas.
//
// The wire format is the service model's (botocore `eventbridgev2` 2025-05-15): `POST
// <endpoint>/service/AWSEventsV2/operation/<Operation>`, `smithy-protocol: rpc-v2-cbor`, a CBOR
// map as body, signed for service `events`; errors carry `__type` in a CBOR body.
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { cbor } from "@smithy/core/cbor";
import { Sha256 } from "@smithy/core/checksum";
import { HttpRequest } from "@smithy/core/protocols";
import {
  StandardRetryStrategy,
  isServerError,
  isThrottlingError,
  isTransientError,
} from "@smithy/core/retry";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { SignatureV4 } from "@smithy/signature-v4";
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  HttpResponse,
  RetryErrorType,
  RetryStrategyV2,
} from "@smithy/types";

export const SIGNING_NAME = "events";
export const SERVICE_TARGET = "AWSEventsV2";

export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  /** The event payload, a JSON string. */
  Detail?: string;
  Resources?: string[];
  Time?: Date;
  SystemMetadata?: { EventGroupId?: string; DeduplicationId?: string };
}

export interface PutEventsInput {
  EventBusArn: string;
  Entries: PutEventsEntry[];
}

export interface PutEventsResultEntry {
  EventId?: string;
  SequenceNumber?: string;
  /** PUBLISHED or DEDUPLICATED: both mean the event is on the bus. */
  SuccessCode?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface PutEventsOutput {
  FailedEntryCount?: number;
  /** Aligned with the request's entries. */
  Entries?: PutEventsResultEntry[];
}

export interface ListEventBusesInput {
  NamePrefix?: string;
  NextToken?: string;
  MaxResults?: number;
}

export interface EventBusSummary {
  Name?: string;
  EventBusArn?: string;
  State?: string;
}

export interface ListEventBusesOutput {
  EventBuses?: EventBusSummary[];
  NextToken?: string;
}

/** The smallest part of an SDK request handler this client uses (`NodeHttpHandler` has it). */
export interface RequestHandler {
  handle(request: HttpRequest): Promise<{ response: HttpResponse }>;
}

export interface EventBridgeV2Config {
  /** Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`. */
  region?: string | undefined;
  /**
   * Default: `AWS_ENDPOINT_URL_EVENTBRIDGEV2`, then `AWS_ENDPOINT_URL` (the SDKs' own variables;
   * the local stack sets the second), else AWS's regional endpoint.
   */
  endpoint?: string | undefined;
  /** Default: the SDK's default chain (environment, SSO, profile, container, instance). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;
  /** Default: `new NodeHttpHandler()`, keep-alive. */
  requestHandler?: RequestHandler | undefined;
  /** Default: the SDK's standard strategy, 3 attempts (throttling, transient 5xx and network errors). */
  retryStrategy?: RetryStrategyV2 | undefined;
}

/** The errors the service model marks `retryable` (and whether as throttling). */
const RETRYABLE_ERRORS: Readonly<Record<string, { throttling: boolean }>> = {
  ThrottlingException: { throttling: true },
  InternalException: { throttling: false },
};

/** An error answer of the service, named by its `__type` (e.g. `ThrottlingException`). */
export class EventsV2ServiceError extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: { httpStatusCode: number };
  readonly $retryable: { throttling: boolean } | undefined;

  constructor(name: string, message: string, statusCode: number) {
    super(message);
    this.name = name;
    this.$fault = statusCode >= 500 ? "server" : "client";
    this.$metadata = { httpStatusCode: statusCode };
    this.$retryable = RETRYABLE_ERRORS[name];
  }

  get statusCode(): number {
    return this.$metadata.httpStatusCode;
  }
}

/**
 * Where an operation goes, as the service's endpoint rules resolve it: an override wins; else
 * `https://eventsv2.<region>.<dns suffix>`, prefixed with the bus owner's account id when the
 * request names a bus by ARN (botocore's default, account-based endpoints "preferred").
 */
export function resolveEndpoint(region: string, override?: string, busArn?: string): URL {
  if (override) return new URL(override);
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  const account = busArn?.match(/^arn:[^:]+:events:[^:]*:(\d{12}):/)?.[1];
  return new URL(`https://${account ? `${account}.` : ""}eventsv2.${region}.${suffix}`);
}

/** Map values without the `undefined` ones (CBOR would encode them as `undefined`, 0xf7). */
function defined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defined);
  if (value === null || typeof value !== "object" || value instanceof Date || value instanceof Uint8Array) {
    return value;
  }
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => [key, defined(member)]),
  );
}

async function readBody(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** `com.amazonaws.eventbridgev2#ThrottlingException:http://...` -> `ThrottlingException`. */
export function errorName(type: unknown): string | undefined {
  if (typeof type !== "string" || type === "") return undefined;
  const name = type.split(",")[0]!.split(":")[0]!;
  return name.includes("#") ? name.slice(name.indexOf("#") + 1) : name;
}

/** How the SDK's own retry middleware classifies an error; `undefined`: the caller's fault, final. */
function retryErrorType(error: unknown): RetryErrorType | undefined {
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(sdkError)) return "THROTTLING";
  if (isTransientError(sdkError)) return "TRANSIENT";
  if (isServerError(sdkError)) return "SERVER_ERROR";
  return undefined;
}

/** A client of the two EventBridge v2 operations a producer calls. */
export class EventBridgeV2Client {
  readonly region: string;
  private readonly endpoint: string | undefined;
  private readonly signer: SignatureV4;
  private readonly handler: RequestHandler;
  private readonly retry: RetryStrategyV2;

  constructor(config: EventBridgeV2Config = {}) {
    const env = process.env;
    const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new Error("EventBridgeV2Client: no region: set AWS_REGION or pass `region`");
    this.region = region;
    this.endpoint = config.endpoint ?? env.AWS_ENDPOINT_URL_EVENTBRIDGEV2 ?? env.AWS_ENDPOINT_URL;
    this.signer = new SignatureV4({
      service: SIGNING_NAME,
      region,
      credentials: config.credentials ?? defaultProvider(),
      sha256: Sha256,
    });
    this.handler = config.requestHandler ?? new NodeHttpHandler({ httpsAgent: { keepAlive: true } });
    this.retry = config.retryStrategy ?? new StandardRetryStrategy(3);
  }

  putEvents(input: PutEventsInput): Promise<PutEventsOutput> {
    return this.call("PutEvents", input, input.EventBusArn);
  }

  listEventBuses(input: ListEventBusesInput = {}): Promise<ListEventBusesOutput> {
    return this.call("ListEventBuses", input);
  }

  private async call<O>(operation: string, input: object, busArn?: string): Promise<O> {
    const body = cbor.serialize(defined(input));
    let token = await this.retry.acquireInitialRetryToken(`${this.region}:eventsv2`);
    for (;;) {
      try {
        const output = await this.send<O>(operation, body, busArn);
        this.retry.recordSuccess(token);
        return output;
      } catch (error) {
        const errorType = retryErrorType(error);
        if (errorType === undefined) throw error;
        try {
          // Waits the backoff itself; throws when the attempts (or the retry quota) are spent.
          token = await this.retry.refreshRetryTokenForRetry(token, { errorType });
        } catch {
          throw error;
        }
      }
    }
  }

  private async send<O>(operation: string, body: Uint8Array, busArn?: string): Promise<O> {
    const url = resolveEndpoint(this.region, this.endpoint, busArn);
    const base = url.pathname.replace(/\/$/, "");
    const request = new HttpRequest({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: `${base}/service/${SERVICE_TARGET}/operation/${operation}`,
      headers: {
        host: url.host,
        "smithy-protocol": "rpc-v2-cbor",
        "content-type": "application/cbor",
        accept: "application/cbor",
        "content-length": String(body.byteLength),
      },
      body,
    });
    const signed = await this.signer.sign(request);
    const { response } = await this.handler.handle(signed as HttpRequest);
    const bytes = await readBody(response.body);
    const header = Object.entries(response.headers).find(
      ([name]) => name.toLowerCase() === "smithy-protocol",
    );
    if (header?.[1].toLowerCase() !== "rpc-v2-cbor") {
      throw new EventsV2ServiceError(
        "MalformedResponse",
        `${operation}: HTTP ${response.statusCode} without smithy-protocol: rpc-v2-cbor (is the endpoint EventBridge v2?)`,
        response.statusCode,
      );
    }
    const value = (bytes.byteLength > 0 ? cbor.deserialize(bytes) : {}) as Record<string, unknown>;
    if (response.statusCode >= 300) {
      const name = errorName(value.__type) ?? `Http${response.statusCode}`;
      const message = String(value.message ?? value.Message ?? name);
      throw new EventsV2ServiceError(name, message, response.statusCode);
    }
    return value as O;
  }
}
