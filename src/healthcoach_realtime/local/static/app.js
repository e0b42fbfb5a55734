// The local demo page: connect as a user, watch events arrive, emit samples of every type.
// All data reaches the DOM through textContent: event data is never parsed as HTML.
import { RealtimeClient } from "/clients/realtime.js";

const STORAGE_KEY = "hc-realtime.demo.user";
const DEFAULT_USER = "alice";
const MAX_EVENTS_SHOWN = 200;

const $ = (selector) => document.querySelector(selector);

const state = {
  /** @type {{wsUrl: string, eventTypes: string[], samples: Record<string, unknown>} | null} */
  config: null,
  /** @type {RealtimeClient | null} */
  client: null,
  user: "",
  count: 0,
  /** Token refreshes answered `authorized` on this connection, and when the last one was. */
  refreshes: 0,
  /** @type {Date | null} */
  refreshedAt: null,
};

async function requestJson(url, init) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body };
}

function initialUser() {
  const fromQuery = new URLSearchParams(location.search).get("user");
  return (fromQuery || localStorage.getItem(STORAGE_KEY) || DEFAULT_USER).trim();
}

/** "Created" / "Updated" / "Deleted": colours the badge and dot of an event type. */
function actionOf(type) {
  const match = /(Created|Updated|Deleted)$/.exec(type);
  return match ? match[1].toLowerCase() : "other";
}

function showBanner(message) {
  const banner = $("#banner");
  banner.textContent = message;
  banner.hidden = !message;
}

// ---- connection -------------------------------------------------------------------------

function rememberUser(user) {
  localStorage.setItem(STORAGE_KEY, user);
  const url = new URL(location.href);
  url.searchParams.set("user", user);
  history.replaceState(null, "", url);
  $("#current-user").textContent = user;
  $("#second-tab").href = `/?user=${encodeURIComponent(user)}`;
}

function connect(user) {
  disconnect();
  if (user !== state.user) clearEvents();
  state.user = user;
  rememberUser(user);

  const client = new RealtimeClient({
    url: state.config.wsUrl,
    getToken: async () => {
      const lifetime = $("#token-lifetime").value;
      const url = `/local/issuer/token?user=${encodeURIComponent(user)}&expiresIn=${encodeURIComponent(lifetime)}`;
      const { ok, status, body } = await requestJson(url).catch((error) => {
        throw new Error(`the dev token issuer is unreachable (${error.message}): is hc-realtime dev running?`);
      });
      if (!ok || !body?.token) throw new Error(`the dev token issuer answered ${status}`);
      return body.token;
    },
  });
  client.onStatus((change) => {
    if (state.client === client) renderStatus(change);
  });
  client.onAny((frame) => {
    if (state.client === client) renderEvent(frame);
  });
  client.onError((error) => {
    if (state.client === client) showBanner(`Connection: ${error instanceof Error ? error.message : error}`);
  });
  client.onControl((frame) => {
    if (state.client !== client || frame.type !== "authorized") return;
    state.refreshes += 1;
    state.refreshedAt = new Date();
    renderSession();
  });
  state.client = client;
  state.refreshes = 0;
  state.refreshedAt = null;
  client.connect();
}

/** Sign-out as the app does it: the stack's disconnect_user closes every tab of the user. */
async function signOut() {
  const user = state.user;
  const { ok, status, body } = await requestJson("/local/disconnect", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId: user }),
  }).catch((error) => ({ ok: false, status: String(error.message ?? error), body: null }));
  disconnect();
  showBanner(ok ? `Signed ${user} out: ${body?.closed ?? 0} connection(s) closed` : `Sign-out failed (${status})`);
}

function disconnect() {
  const client = state.client;
  if (!client) return;
  client.close();
  state.client = null;
  renderStatus({ status: "closed", attempt: 0 });
}

function renderStatus({ status, attempt, delayMs }) {
  const pill = $("#status");
  pill.dataset.status = status;
  let text = { idle: "disconnected", connecting: "connecting…", open: "open", closed: "disconnected" }[status];
  if (status === "connecting" && attempt > 0) text = `connecting… attempt ${attempt + 1}`;
  if (status === "reconnecting") text = `reconnecting · attempt ${attempt} · in ${(delayMs / 1000).toFixed(1)} s`;
  pill.textContent = text ?? status;
  if (status === "open") showBanner("");
  $("#disconnect").disabled = status === "closed" || status === "idle";
}

/** The session's end (the token's exp, moved on by each refresh) and the refreshes so far. */
function renderSession() {
  const exp = state.client?.status === "open" ? state.client.expiresAt : undefined;
  const expiry = $("#session-exp");
  expiry.dataset.exp = exp === undefined ? "" : String(exp);
  if (exp === undefined) {
    expiry.textContent = "—";
  } else {
    const left = Math.round(exp - Date.now() / 1000);
    const at = new Date(exp * 1000).toLocaleTimeString();
    expiry.textContent = left > 0 ? `token expires ${at} · in ${left} s` : `token expired at ${at}`;
  }
  const refresh = $("#session-refresh");
  refresh.dataset.refreshes = String(state.refreshes);
  refresh.textContent = state.refreshedAt
    ? `refreshed ${state.refreshes}× without reconnecting · last ${state.refreshedAt.toLocaleTimeString()}`
    : "ahead of expiry, on the open socket";
}

// ---- events -----------------------------------------------------------------------------

function renderEvent(frame) {
  const item = $("#event-template").content.firstElementChild.cloneNode(true);
  item.dataset.type = frame.type;
  if (frame.id) item.dataset.id = frame.id;
  const badge = item.querySelector(".badge");
  badge.textContent = frame.type;
  badge.classList.add(actionOf(frame.type));
  const time = item.querySelector("time");
  if (frame.time) {
    const when = new Date(frame.time);
    time.dateTime = frame.time;
    time.textContent = Number.isNaN(when.getTime()) ? frame.time : when.toLocaleTimeString();
    time.title = frame.time;
  }
  const id = item.querySelector(".event-id");
  id.textContent = frame.id ? `id ${frame.id}` : "no id";
  id.title = frame.id ?? "";
  item.querySelector(".event-data").textContent = JSON.stringify(frame.data, null, 2);

  const list = $("#events");
  list.prepend(item);
  while (list.children.length > MAX_EVENTS_SHOWN) list.lastElementChild.remove();
  state.count += 1;
  renderCount();
}

function clearEvents() {
  $("#events").replaceChildren();
  state.count = 0;
  renderCount();
}

function renderCount() {
  $("#event-count").textContent = String(state.count);
  $("#events-empty").hidden = state.count > 0;
}

// ---- emit -------------------------------------------------------------------------------

function renderEmitters(config) {
  const list = $("#emitters");
  const template = $("#emitter-template");
  for (const type of config.eventTypes) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.type = type;
    item.querySelector(".dot").classList.add(actionOf(type));
    item.querySelector(".emitter-type").textContent = type;
    const textarea = item.querySelector(".emitter-data");
    textarea.value = JSON.stringify(config.samples?.[type] ?? { id: "sample-1" }, null, 2);
    textarea.setAttribute("aria-label", `data of ${type}`);
    const edit = item.querySelector(".edit");
    edit.addEventListener("click", () => {
      textarea.hidden = !textarea.hidden;
      edit.textContent = textarea.hidden ? "Edit" : "Hide";
      if (!textarea.hidden) textarea.focus();
    });
    const emitButton = item.querySelector(".emit");
    emitButton.dataset.emit = type;
    emitButton.setAttribute("aria-label", `Emit ${type}`);
    emitButton.addEventListener("click", () => emit(type, textarea, emitButton));
    list.append(item);
  }
}

function showEmitResult(kind, lines, eventId) {
  const box = $("#emit-result");
  box.className = `emit-result ${kind}`;
  box.replaceChildren(
    ...lines.map((line, index) => {
      const element = document.createElement(index === 0 ? "strong" : "div");
      element.textContent = line;
      return element;
    }),
  );
  if (eventId) box.dataset.eventId = eventId;
  else delete box.dataset.eventId;
  box.hidden = false;
}

async function emit(type, textarea, button) {
  let data;
  try {
    data = JSON.parse(textarea.value);
  } catch (error) {
    textarea.hidden = false;
    textarea.classList.add("invalid");
    showEmitResult("error", [`${type}: the data is not valid JSON`, String(error.message ?? error)]);
    return;
  }
  textarea.classList.remove("invalid");
  button.disabled = true;
  try {
    const { ok, status, body } = await requestJson("/local/emit", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type, userId: state.user, data }),
    });
    if (ok) {
      showEmitResult("ok", [`Emitted ${type} for ${state.user}`, `event id ${body?.id}`], body?.id);
      return;
    }
    const lines = [`${status} · ${type} rejected`, body?.error ?? "no error message"];
    if (body?.field || body?.rule) lines.push(`field ${body.field ?? "?"} · rule ${body.rule ?? "?"}`);
    textarea.classList.add("invalid");
    showEmitResult("error", lines);
  } catch (error) {
    showEmitResult("error", [`${type}: the request failed`, String(error.message ?? error)]);
  } finally {
    button.disabled = false;
  }
}

// ---- start ------------------------------------------------------------------------------

async function start() {
  const { ok, status, body } = await requestJson("/local/config").catch((error) => ({
    ok: false,
    status: String(error.message ?? error),
    body: null,
  }));
  if (!ok || !body) {
    showBanner(`Could not load /local/config (${status}). Is \`hc-realtime dev\` running?`);
    return;
  }
  state.config = body;
  $("#ws-url").textContent = body.wsUrl;
  renderEmitters(body);

  const input = $("#user");
  input.value = initialUser();
  $("#connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = input.value.trim();
    if (user) connect(user);
  });
  $("#disconnect").addEventListener("click", disconnect);
  $("#sign-out").addEventListener("click", signOut);
  const lifetime = new URLSearchParams(location.search).get("tokenLifetime");
  if (lifetime && /^[0-9]+$/.test(lifetime)) {
    const select = $("#token-lifetime");
    if (![...select.options].some((option) => option.value === lifetime)) select.add(new Option(`${lifetime} s`, lifetime));
    select.value = lifetime;
  }
  setInterval(renderSession, 1000);
  $("#clear").addEventListener("click", clearEvents);
  renderCount();
  connect(input.value);
}

start();
