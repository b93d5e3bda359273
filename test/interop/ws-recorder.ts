// A WebSocket proxy that records every frame between Mission Control and a real gateway. The interop suite points the
// gateway's URL at it; the recorded exchanges are what the fake gateway of the fast tests is checked against.
import http from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export interface RecordedFrame {
  connection: number;
  /** "out": Mission Control → gateway; "in": gateway → Mission Control. */
  dir: "out" | "in";
  at: number;
  frame: Record<string, unknown>;
}

export interface WsRecorder {
  url: string;
  frames: RecordedFrame[];
  /** Request frames Mission Control sent with this method, each with the gateway's answer. */
  exchanges(method: string): { request: Record<string, unknown>; response: Record<string, unknown> | null }[];
  close(): Promise<void>;
}

export async function startWsRecorder(target: string): Promise<WsRecorder> {
  const frames: RecordedFrame[] = [];
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, maxPayload: 32 * 1024 * 1024 });
  let connections = 0;
  const sockets = new Set<WebSocket>();
  wss.on("connection", (client) => {
    const connection = ++connections;
    const upstream = new WebSocket(target, { maxPayload: 32 * 1024 * 1024, perMessageDeflate: false });
    sockets.add(client);
    sockets.add(upstream);
    const pending: string[] = [];
    const record = (dir: "out" | "in", text: string) => {
      try {
        frames.push({ connection, dir, at: Date.now(), frame: JSON.parse(text) });
      } catch {
        /* not JSON: not part of the protocol */
      }
    };
    client.on("message", (data) => {
      const text = data.toString();
      record("out", text);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else pending.push(text);
    });
    upstream.on("open", () => {
      for (const text of pending.splice(0)) upstream.send(text);
    });
    upstream.on("message", (data) => {
      const text = data.toString();
      record("in", text);
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
    const closeBoth = (code: number, reason: Buffer) => {
      const valid = code >= 1000 && code < 5000 && code !== 1005 && code !== 1006;
      for (const ws of [client, upstream]) {
        if (ws.readyState === WebSocket.OPEN) ws.close(valid ? code : 1000, reason);
        else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      }
    };
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
    upstream.on("error", () => client.terminate());
    client.on("error", () => upstream.terminate());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    frames,
    exchanges(method) {
      return frames
        .filter((f) => f.dir === "out" && f.frame.type === "req" && f.frame.method === method)
        .map((req) => ({
          request: req.frame,
          response: frames.find((f) => f.dir === "in" && f.connection === req.connection && f.frame.type === "res" && f.frame.id === req.frame.id)?.frame ?? null,
        }));
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
