/** Serves a node's app over HTTP with @hono/node-server, with graceful shutdown. */
import type { AddressInfo } from "node:net";
import { serve as honoServe } from "@hono/node-server";
import type { SpeNode } from "./node";

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then closes the node (which seals the audit head). */
  shutdown(): Promise<void>;
}

export function serve(node: SpeNode, port: number, hostname = "127.0.0.1"): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = honoServe({ fetch: node.app.fetch, port, hostname }, (info: AddressInfo) => {
      const url = `http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${info.port}`;
      let closing: Promise<void> | null = null;
      resolve({
        url,
        port: info.port,
        shutdown() {
          closing ??= new Promise<void>((done) => {
            // close() stops accepting and waits for open requests; idle keep-alive sockets are closed.
            server.close(() => done());
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }).then(() => node.close());
          return closing;
        },
      });
    });
    server.once("error", reject);
  });
}
