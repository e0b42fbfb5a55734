// A loopback WebSocket server that speaks the browser side of HealthCoach Realtime's wire protocol
// (subprotocol handshake, presence, event frames) so the React tests run over a real socket.
import { WebSocketServer } from "ws";

export const SUBPROTOCOL = "healthcoach.v1";

/**
 * Start the server on 127.0.0.1 (a free port). `presence` is what it answers to
 * `{"action": "presence"}`; `sockets` are the open connections, `tokens` every token offered.
 */
export async function startFakeServer({ presence = 1 } = {}) {
  const tokens = [];
  const sockets = new Set();
  let seq = 0;
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  const closed = [];
  wss.on("connection", (socket, request) => {
    const offered = (request.headers["sec-websocket-protocol"] ?? "").split(",").map((v) => v.trim());
    tokens.push(offered.find((value) => value !== SUBPROTOCOL));
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      closed.push(socket);
    });
    socket.on("message", (raw) => {
      const message = JSON.parse(String(raw));
      if (message.action === "presence")
        socket.send(JSON.stringify({ type: "presence", connections: presence }));
    });
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/local`,
    tokens,
    sockets,
    closed,
    /** Send an event frame (with a fresh id and seq) to every open connection. */
    push(type, data) {
      seq += 1;
      const frame = { type, data, id: `event-${seq}`, time: new Date(0).toISOString(), seq };
      for (const socket of sockets) socket.send(JSON.stringify(frame));
      return frame;
    },
    /** Send any frame as is. */
    send(frame) {
      for (const socket of sockets) socket.send(JSON.stringify(frame));
    },
    /** Close every connection as a server would (e.g. API Gateway's 2 h limit). */
    drop() {
      for (const socket of sockets) socket.close(1001, "going away");
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(resolve);
      }),
  };
}
