// HealthCoach Realtime: the reference browser client. One dependency-free ES module.
//
//   import { RealtimeClient } from "./realtime.js";
//   const client = new RealtimeClient({
//     url: "wss://<api-id>.execute-api.<region>.amazonaws.com/prod",
//     getToken: async () => (await fetchAuthSession()).tokens.idToken.toString(),
//   });
//   client.on("foodLogCreated", (data, frame) => addFoodLog(data));
//   client.onStatus(({ status, attempt }) => setBadge(status, attempt));
//   client.onResync(() => refetchEverything());
//   client.onPresence((connections) => setDevices(connections));
//   client.connect();
//
// TypeScript reads `realtime.d.ts` beside this file (generated from `schemas/`: frames typed per
// event); the JSDoc here is for readers of this file.
//
// Why it looks like this:
// - Browsers cannot set headers on a WebSocket, so the token rides in the subprotocol list
//   (`["healthcoach.v1", token]`); the server answers with `healthcoach.v1`.
// - Tokens expire, so `getToken()` is called again before every (re)connect.
// - Connections drop (API Gateway: 10 min idle, 2 h lifetime), so the client reconnects with
//   exponential backoff and full jitter, capped, to spread a thundering herd after an outage.
// - Delivery is at least once, so frames are de-duplicated by `id` (a bounded LRU set).
// - Every event carries a per-user `seq`. After each (re)open the client sends
//   `{"action": "resume", "since": resumePoint}` and gets the events it missed (or one `resync`:
//   refetch, `onResync`). Replayed and live frames can interleave at the seam, so repeats are
//   dropped by `id`, never by comparing seqs.
// - Every resume ends with one terminal frame. `{"type": "resumed", "through": N, "more": true}`
//   means the server's time ran out (or its posts kept failing) after seq N: the client resumes
//   again from N (not from lastSeq, which live frames may have moved past a gap). When no
//   terminal frame comes within `resumeTimeoutMs`, it asks again from where it last asked, with
//   backoff, and after `resumeAttempts` unanswered asks it reconnects (and resumes from there).
// - `$connect` cannot post to the connection it opens, and does not tell the user's other
//   connections either: once open, the client asks `{"action": "presence"}`, which answers it
//   and tells the others their new count.
// - API Gateway closes a connection idle for 10 minutes: a quiet client sends `{"action": "ping"}`.
// - The server posts nothing to a session past its token's `exp`, and closes it within a minute.
//   So ahead of `exp` the client sends `{"action": "auth", "token": await getToken()}` on the open
//   socket; the answer `{"type": "authorized", "exp"}` sets the next refresh (`refreshDelay`).

/** The subprotocol that tells the server the second offered value is the token. */
export const SUBPROTOCOL = "healthcoach.v1";

/** Every event type the server pushes (the event catalogue, `schemas/` on the server). */
export const EVENT_TYPES = Object.freeze([
  "foodLogCreated",
  "foodLogUpdated",
  "foodLogDeleted",
  "exerciseLogCreated",
  "exerciseLogUpdated",
  "exerciseLogDeleted",
  "healthMetricCreated",
  "healthMetricUpdated",
  "healthMetricDeleted",
  "healthProfileUpdated",
]);

/**
 * @typedef {"foodLogCreated" | "foodLogUpdated" | "foodLogDeleted"
 *   | "exerciseLogCreated" | "exerciseLogUpdated" | "exerciseLogDeleted"
 *   | "healthMetricCreated" | "healthMetricUpdated" | "healthMetricDeleted"
 *   | "healthProfileUpdated"} EventType
 */

/**
 * One frame as the server sends it: one WebSocket text message per event.
 * @typedef {object} RealtimeFrame
 * @property {EventType | string} type  the event type
 * @property {Record<string, unknown>} data  the event's data (`*Deleted` events carry `{id}`)
 * @property {string} [id]  the event id, the same on every delivery of one event
 * @property {string} [time]  when the event happened, ISO 8601
 * @property {number} [seq]  per-user sequence number: strictly increasing, not necessarily contiguous
 */

/**
 * Frames that are not events: handled here and passed to `onControl`, never to `on`/`onAny`.
 * `resumed` ends a replay; `authorized` answers `{"action": "auth", "token"}`.
 */
export const CONTROL_TYPES = Object.freeze(["pong", "resync", "presence", "error", "resumed", "authorized"]);

/** The default idle hook: ping after 5 quiet minutes (API Gateway's idle timeout is 10). */
export const PING_WHEN_IDLE = Object.freeze({
  afterMs: 5 * 60 * 1000,
  onIdle: (/** @type {RealtimeClient} */ client) => client.send({ action: "ping" }),
});

/** Ask again when a resume has had no terminal frame this long (the server's replay stops within 10 s). */
const RESUME_TIMEOUT_MS = 15 * 1000;
/** Unanswered resumes on one connection before the client reconnects instead. */
const RESUME_ATTEMPTS = 3;

/** Refresh the session this long before its token's `exp` (or half-way there, if later). */
const REFRESH_AHEAD_MS = 60 * 1000;
const MIN_REFRESH_DELAY_MS = 1000;

/**
 * The `exp` claim (epoch seconds) of a JWT, read without verifying it (only to time the refresh:
 * the server verifies); `undefined` when `token` is not a JWT with a numeric `exp`.
 * @param {string} token
 * @returns {number | undefined}
 */
function tokenExpiry(token) {
  const payload = typeof token === "string" ? token.split(".")[1] : undefined;
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = JSON.parse(json).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing a session that ends at `expSeconds`: until `aheadMs` before
 * it, or half-way there if that is later (a short token is not refreshed at once), never less
 * than a second (a token callback that keeps returning the same token cannot spin).
 * @param {number} expSeconds
 * @param {number} nowMs
 * @param {number} [aheadMs]
 * @returns {number} milliseconds
 */
function refreshDelay(expSeconds, nowMs, aheadMs = REFRESH_AHEAD_MS) {
  const remaining = expSeconds * 1000 - nowMs;
  return Math.max(remaining - aheadMs, remaining / 2, MIN_REFRESH_DELAY_MS);
}

/** @typedef {"idle" | "connecting" | "open" | "reconnecting" | "closed"} Status */

/**
 * @typedef {object} StatusChange
 * @property {Status} status
 * @property {number} attempt  failed attempts in a row (0 once a connection has proved stable)
 * @property {number} [delayMs]  with "reconnecting": how long until the next attempt
 * @property {number} [code]  with "reconnecting"/"closed": the close code of the socket
 * @property {string} [reason]  with "reconnecting"/"closed": the close reason, if any
 */

/**
 * @typedef {object} Backoff
 * @property {number} [baseMs=500]  the ceiling of the first delay
 * @property {number} [maxMs=30000]  no delay is ever longer
 * @property {number} [factor=2]  the ceiling grows by this factor per failed attempt
 */

/**
 * @typedef {object} UrlContext  what a `url` function gets, to build the URL of one attempt
 * @property {number} attempt  failed attempts in a row before this one
 * @property {number | undefined} lastSeq  the highest `seq` seen
 */

/**
 * @typedef {object} IdleHook  called when nothing was received or sent for `afterMs` while open
 * @property {number} afterMs
 * @property {(client: RealtimeClient) => void} onIdle  e.g. `(c) => c.send({action: "ping"})`
 */

/**
 * @typedef {object} RealtimeOptions
 * @property {string | ((ctx: UrlContext) => string)} url  the WebSocket URL, or a function of the attempt
 * @property {() => string | Promise<string>} getToken  a fresh token; called before every (re)connect
 * @property {Backoff} [backoff]
 * @property {number} [stableAfterMs=5000]  an open connection that lasts this long resets `attempt` to 0
 * @property {number} [maxAttempts=Infinity]  give up (status "closed") after this many failed attempts
 * @property {number} [dedupeSize=1000]  how many recent event ids to remember
 * @property {number} [lastSeq]  restore the resume point from storage
 * @property {boolean} [resume=true]  send `{"action": "resume", "since": resumePoint}` on every open
 * @property {number} [resumeTimeoutMs=15000]  ask again when a resume has no terminal frame by then
 * @property {number} [resumeAttempts=3]  unanswered resumes on one connection before reconnecting
 * @property {IdleHook | null} [idle=PING_WHEN_IDLE]  `null`: never ping
 * @property {number | null} [refreshAheadMs=60000]  send `{"action": "auth"}` with a
 *   fresh `getToken()` this long before the session's `exp`; `null`: never (reconnect instead)
 * @property {(event: {code: number, reason: string}) => boolean} [shouldReconnect]  default: always
 * @property {typeof WebSocket} [WebSocket]  the implementation (default `globalThis.WebSocket`)
 * @property {() => number} [random]  in [0, 1) (default `Math.random`); tests pin it
 */

/**
 * The delay before reconnect attempt `attempt` (0-based): "full jitter", a uniform pick in
 * [0, min(maxMs, baseMs * factor^attempt)), as in the AWS Architecture Blog's backoff study.
 * @param {number} attempt
 * @param {Backoff} [backoff]
 * @param {() => number} [random]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, backoff = {}, random = Math.random) {
  const { baseMs = 500, maxMs = 30000, factor = 2 } = backoff;
  const ceiling = Math.min(maxMs, baseMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.floor(random() * ceiling);
}

/**
 * A set of the most recently seen ids, bounded: the oldest is forgotten first.
 * `Map` keeps insertion order, so re-inserting an id marks it as recent.
 */
export class RecentIds {
  /** @param {number} capacity */
  constructor(capacity) {
    if (!(capacity > 0)) throw new RangeError("capacity must be positive");
    /** @private */ this.capacity = capacity;
    /** @private @type {Map<string, true>} */ this.ids = new Map();
  }

  /**
   * Remember `id`; true when it was new, false when it was already there (a duplicate).
   * @param {string} id
   * @returns {boolean}
   */
  add(id) {
    const seen = this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) {
      this.ids.delete(this.ids.keys().next().value);
    }
    return !seen;
  }

  /** @returns {number} */
  get size() {
    return this.ids.size;
  }
}

/**
 * Parse one text message into a frame; `null` when it is not a frame (not JSON, no string `type`).
 * @param {unknown} text
 * @returns {RealtimeFrame | null}
 */
export function parseFrame(text) {
  if (typeof text !== "string") return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object" || typeof value.type !== "string") return null;
  return value;
}

/**
 * A WebSocket to HealthCoach Realtime that stays connected: see the top of this file.
 */
export class RealtimeClient {
  /** @param {RealtimeOptions} options */
  constructor(options) {
    if (!options || !options.url) throw new TypeError("RealtimeClient: `url` is required");
    if (typeof options.getToken !== "function") {
      throw new TypeError("RealtimeClient: `getToken` must be a function");
    }
    /** @private */ this.options = options;
    /** @private */ this.WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    /** @private */ this.random = options.random ?? Math.random;
    /** @private */ this.recent = new RecentIds(options.dedupeSize ?? 1000);
    /** @private @type {Map<string, Set<(data: any, frame: RealtimeFrame) => void>>} */
    this.typed = new Map();
    /** @private @type {Set<(frame: RealtimeFrame) => void>} */ this.any = new Set();
    /** @private @type {Set<(change: StatusChange) => void>} */ this.statusListeners = new Set();
    /** @private @type {Set<(error: unknown) => void>} */ this.errorListeners = new Set();
    /** @private @type {Set<(latestSeq: number) => void>} */ this.resyncListeners = new Set();
    /** @private @type {Set<(connections: number) => void>} */ this.presenceListeners = new Set();
    /** @private @type {Set<(frame: RealtimeFrame & Record<string, unknown>) => void>} */
    this.controlListeners = new Set();
    /** @private @type {WebSocket | null} */ this.socket = null;
    /** @private */ this.wanted = false;
    /** @private */ this.generation = 0;
    /** @private */ this.timers = { retry: 0, stable: 0, idle: 0, refresh: 0, resume: 0 };
    /**
     * The `since` of a resume not finished yet (no terminal frame, or `more`): kept across
     * reconnects, as events after it may not have arrived.
     * @private @type {number | undefined}
     */
    this.resumeSince = undefined;
    /** @private */ this.unanswered = 0;
    /** @private @type {number | undefined} */ this.sessionExp = undefined;
    /** @private @type {number | undefined} */ this.seq = options.lastSeq;
    /** @type {Status} */ this.status = "idle";
    /** Failed attempts in a row. */
    this.attempt = 0;
  }

  /** The highest `seq` received so far. */
  get lastSeq() {
    return this.seq;
  }

  /**
   * Where the next resume starts: `lastSeq`, or while a resume is unfinished the `since` it
   * continues from (live events may have moved `lastSeq` past events not replayed yet).
   * Persist this one, and pass it back as the `lastSeq` option.
   */
  get resumePoint() {
    return this.resumeSince ?? this.seq;
  }

  /** When the open session ends (its token's `exp`, epoch seconds; moved on by each refresh). */
  get expiresAt() {
    return this.sessionExp;
  }

  /**
   * Call `callback(data, frame)` for every new event of `type`; returns the unsubscribe function.
   * @param {EventType} type
   * @param {(data: any, frame: RealtimeFrame) => void} callback
   * @returns {() => void}
   */
  on(type, callback) {
    let listeners = this.typed.get(type);
    if (!listeners) this.typed.set(type, (listeners = new Set()));
    listeners.add(callback);
    return () => listeners.delete(callback);
  }

  /**
   * Call `callback(frame)` for every new event, whatever its type; returns the unsubscribe function.
   * @param {(frame: RealtimeFrame) => void} callback
   * @returns {() => void}
   */
  onAny(callback) {
    this.any.add(callback);
    return () => this.any.delete(callback);
  }

  /**
   * Call `callback(change)` on every status change; returns the unsubscribe function.
   * @param {(change: StatusChange) => void} callback
   * @returns {() => void}
   */
  onStatus(callback) {
    this.statusListeners.add(callback);
    return () => this.statusListeners.delete(callback);
  }

  /**
   * Call `callback(error)` when `getToken` fails or a callback throws (default: `console.error`).
   * @param {(error: unknown) => void} callback
   * @returns {() => void}
   */
  onError(callback) {
    this.errorListeners.add(callback);
    return () => this.errorListeners.delete(callback);
  }

  /**
   * Call `callback(latestSeq)` when events were missed beyond the server's history: refetch
   * whatever the page shows. Live events continue after `latestSeq`.
   * @param {(latestSeq: number) => void} callback
   * @returns {() => void}
   */
  onResync(callback) {
    this.resyncListeners.add(callback);
    return () => this.resyncListeners.delete(callback);
  }

  /**
   * Call `callback(connections)` with how many of this user's connections are open: asked on
   * every open, then whenever a sibling connects (its own ask) or leaves.
   * @param {(connections: number) => void} callback
   * @returns {() => void}
   */
  onPresence(callback) {
    this.presenceListeners.add(callback);
    return () => this.presenceListeners.delete(callback);
  }

  /**
   * Call `callback(frame)` for every control frame (`CONTROL_TYPES`), after the client has
   * handled it; e.g. `{"type": "resumed", "through": N}` once a resume's replay is complete.
   * @param {(frame: RealtimeFrame & Record<string, unknown>) => void} callback
   * @returns {() => void}
   */
  onControl(callback) {
    this.controlListeners.add(callback);
    return () => this.controlListeners.delete(callback);
  }

  /** Start connecting (and keep reconnecting) until `close()`. Calling it again is harmless. */
  connect() {
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    void this.open();
  }

  /** Close the socket and stop reconnecting. */
  close() {
    this.wanted = false;
    this.generation += 1;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= 1) socket.close(1000, "client closed");
    this.setStatus({ status: "closed", attempt: this.attempt, code: 1000, reason: "client closed" });
  }

  /**
   * Send one JSON message on the open socket; false when there is none.
   * The server routes on `action` (API Gateway's `$request.body.action`).
   * @param {unknown} message
   * @returns {boolean}
   */
  send(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(message));
    this.armIdle();
    return true;
  }

  /** @private */
  async open() {
    const generation = ++this.generation;
    this.setStatus({ status: "connecting", attempt: this.attempt });
    let token;
    try {
      token = await this.options.getToken();
    } catch (error) {
      if (generation !== this.generation) return;
      this.report(error);
      this.retry(4001, "getToken failed");
      return;
    }
    if (generation !== this.generation) return;
    const { url } = this.options;
    const target = typeof url === "function" ? url({ attempt: this.attempt, lastSeq: this.seq }) : url;
    let socket;
    try {
      socket = new this.WebSocketImpl(target, [SUBPROTOCOL, token]);
    } catch (error) {
      this.report(error);
      this.retry(4002, "invalid WebSocket URL");
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.setStatus({ status: "open", attempt: this.attempt });
      const stableAfterMs = this.options.stableAfterMs ?? 5000;
      this.timers.stable = setTimeout(() => {
        this.attempt = 0;
      }, stableAfterMs);
      this.unanswered = 0;
      const since = this.resumePoint;
      if ((this.options.resume ?? true) && since !== undefined) this.resume(since);
      // $connect posts nothing: this ask answers with the count and tells the other connections.
      this.send({ action: "presence" });
      this.armIdle();
      this.sessionExp = tokenExpiry(token);
      this.armRefresh(generation);
    };
    socket.onmessage = (message) => {
      if (generation !== this.generation) return;
      this.armIdle();
      this.receive(message.data);
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.retry(event.code, event.reason);
    };
    // A failed handshake (401, network) fires "error" then "close"; "close" does the work.
    socket.onerror = () => {};
  }

  /** @private @param {unknown} text */
  receive(text) {
    const frame = parseFrame(text);
    if (!frame) return;
    if (CONTROL_TYPES.includes(frame.type)) {
      this.control(frame);
      return;
    }
    if (typeof frame.id === "string" && !this.recent.add(frame.id)) return;
    if (typeof frame.seq === "number" && (this.seq === undefined || frame.seq > this.seq)) {
      this.seq = frame.seq;
    }
    for (const callback of this.typed.get(frame.type) ?? []) this.call(callback, frame.data, frame);
    for (const callback of this.any) this.call(callback, frame);
  }

  /** @private @param {RealtimeFrame & Record<string, unknown>} frame */
  control(frame) {
    if (frame.type === "resync" && typeof frame.latestSeq === "number") {
      this.endResume();
      this.seq = frame.latestSeq;
      for (const callback of this.resyncListeners) this.call(callback, frame.latestSeq);
    } else if (frame.type === "resumed" && typeof frame.through === "number") {
      this.resumed(frame.through, frame.more === true);
    } else if (frame.type === "presence" && typeof frame.connections === "number") {
      for (const callback of this.presenceListeners) this.call(callback, frame.connections);
    } else if (frame.type === "authorized" && typeof frame.exp === "number") {
      this.sessionExp = frame.exp;
      this.armRefresh(this.generation);
    } else if (frame.type === "error") {
      this.report(new Error(`server: ${String(frame.message)}`));
    }
    for (const callback of this.controlListeners) this.call(callback, frame);
  }

  /** @private @param {number} since */
  resume(since) {
    this.resumeSince = since;
    clearTimeout(this.timers.resume);
    if (!this.send({ action: "resume", since })) return;
    const generation = this.generation;
    this.timers.resume = setTimeout(() => {
      if (generation === this.generation) this.askAgain();
    }, this.options.resumeTimeoutMs ?? RESUME_TIMEOUT_MS);
  }

  /**
   * A terminal `resumed`: done, or with `more` continue from `through`. A `more` that made no
   * progress counts as unanswered (a replay that keeps failing must not spin).
   * @private @param {number} through @param {boolean} more
   */
  resumed(through, more) {
    const since = this.resumeSince;
    if (since === undefined) return; // not ours (a resume sent through `send` by the app)
    if (!more) {
      this.endResume();
    } else if (through > since) {
      this.unanswered = 0;
      this.resume(through);
    } else {
      clearTimeout(this.timers.resume);
      this.askAgain();
    }
  }

  /** @private */
  endResume() {
    clearTimeout(this.timers.resume);
    this.resumeSince = undefined;
    this.unanswered = 0;
  }

  /**
   * No terminal frame came (or no progress): ask again from the same point after a backoff
   * delay, or reconnect once `resumeAttempts` asks on this connection went unanswered.
   * @private
   */
  askAgain() {
    const since = this.resumeSince;
    if (since === undefined) return;
    this.unanswered += 1;
    if (this.unanswered >= (this.options.resumeAttempts ?? RESUME_ATTEMPTS)) {
      const socket = this.socket;
      this.socket = null;
      this.generation += 1;
      if (socket && socket.readyState <= 1) socket.close(4000, "resume unanswered");
      this.retry(4000, "resume unanswered");
      return;
    }
    const generation = this.generation;
    this.timers.resume = setTimeout(() => {
      if (generation === this.generation) this.resume(since);
    }, backoffDelay(this.unanswered - 1, this.options.backoff, this.random));
  }

  /** @private @param {number} code @param {string} reason */
  retry(code, reason) {
    this.clearTimers();
    if (!this.wanted) return;
    const { shouldReconnect, maxAttempts = Infinity } = this.options;
    if ((shouldReconnect && !shouldReconnect({ code, reason })) || this.attempt >= maxAttempts) {
      this.wanted = false;
      this.setStatus({ status: "closed", attempt: this.attempt, code, reason });
      return;
    }
    const delayMs = backoffDelay(this.attempt, this.options.backoff, this.random);
    this.attempt += 1;
    this.setStatus({ status: "reconnecting", attempt: this.attempt, delayMs, code, reason });
    const generation = this.generation;
    this.timers.retry = setTimeout(() => {
      if (generation === this.generation && this.wanted) void this.open();
    }, delayMs);
  }

  /** @private */
  armIdle() {
    const idle = this.options.idle === undefined ? PING_WHEN_IDLE : this.options.idle;
    if (!idle) return;
    clearTimeout(this.timers.idle);
    this.timers.idle = setTimeout(() => {
      if (this.socket && this.socket.readyState === 1) this.call(idle.onIdle, this);
    }, idle.afterMs);
  }

  /** @private @param {number} generation */
  armRefresh(generation) {
    clearTimeout(this.timers.refresh);
    const aheadMs = this.options.refreshAheadMs === undefined ? REFRESH_AHEAD_MS : this.options.refreshAheadMs;
    if (aheadMs === null || this.sessionExp === undefined) return;
    this.timers.refresh = setTimeout(() => {
      void this.refresh(generation);
    }, refreshDelay(this.sessionExp, Date.now(), aheadMs));
  }

  /** @private @param {number} generation */
  async refresh(generation) {
    let token;
    try {
      token = await this.options.getToken();
    } catch (error) {
      if (generation === this.generation) this.report(error);
      return;
    }
    // The answer (`authorized`, or an `error` to onError) arms the next refresh.
    if (generation === this.generation) this.send({ action: "auth", token });
  }

  /** @private */
  clearTimers() {
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.stable);
    clearTimeout(this.timers.idle);
    clearTimeout(this.timers.refresh);
    clearTimeout(this.timers.resume);
  }

  /** @private @param {StatusChange} change */
  setStatus(change) {
    this.status = change.status;
    for (const callback of this.statusListeners) this.call(callback, change);
  }

  /** @private @param {Function} callback @param {...unknown} args */
  call(callback, ...args) {
    try {
      callback(...args);
    } catch (error) {
      this.report(error);
    }
  }

  /** @private @param {unknown} error */
  report(error) {
    if (this.errorListeners.size === 0) {
      console.error("RealtimeClient:", error);
      return;
    }
    for (const callback of this.errorListeners) {
      try {
        callback(error);
      } catch (nested) {
        console.error("RealtimeClient: onError callback failed:", nested);
      }
    }
  }
}
