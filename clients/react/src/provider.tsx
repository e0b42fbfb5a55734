"use client";

import type { RealtimeOptions } from "@healthcoach/realtime-web";
import { createContext, type ReactNode, useContext, useEffect, useState } from "react";

import { RealtimeConnection } from "./connection.js";
import { useLatest } from "./latest.js";

declare const process: { env: Record<string, string | undefined> };

/** The client's options other than `url` and `getToken` (backoff, a `WebSocket` implementation, ...). */
export type ClientOptions = Omit<RealtimeOptions, "url" | "getToken">;

export interface RealtimeProviderProps {
  /** A fresh token (e.g. the Cognito id token), called before every (re)connect. */
  getToken: () => string | Promise<string>;
  /** The WebSocket URL; default `process.env.NEXT_PUBLIC_WS_URL`. */
  url?: string | undefined;
  /** Read when the connection is made; a new `url` makes a new connection. */
  options?: ClientOptions | undefined;
  children?: ReactNode;
}

const RealtimeContext = createContext<RealtimeConnection | null | undefined>(undefined);

/**
 * `NEXT_PUBLIC_WS_URL`, written out in full so Next.js inlines it into the browser bundle;
 * undefined where there is no `process` (a browser bundle built without that inlining).
 */
export function urlFromEnv(): string | undefined {
  try {
    return process.env.NEXT_PUBLIC_WS_URL;
  } catch {
    return undefined;
  }
}

/**
 * Holds the app's one connection: opened after the first render in the browser (never during
 * server rendering), closed on unmount. Put it once near the root, inside the auth provider:
 *
 *     <RealtimeProvider getToken={async () => (await fetchAuthSession()).tokens!.idToken!.toString()}>
 *       <App />
 *     </RealtimeProvider>
 */
export function RealtimeProvider({ getToken, url, options, children }: RealtimeProviderProps): ReactNode {
  const target = url ?? urlFromEnv();
  if (!target) {
    throw new Error("RealtimeProvider: no WebSocket URL: set NEXT_PUBLIC_WS_URL or pass `url`");
  }
  const [connection, setConnection] = useState<RealtimeConnection | null>(null);
  // The latest callback and options, without reconnecting when their identity changes.
  const tokenRef = useLatest(getToken);
  const optionsRef = useLatest(options);

  useEffect(() => {
    const created = new RealtimeConnection({
      ...optionsRef.current,
      url: target,
      getToken: () => tokenRef.current(),
    });
    setConnection(created);
    created.client.connect();
    return () => {
      created.client.close();
      setConnection((current) => (current === created ? null : current));
    };
  }, [target, tokenRef, optionsRef]);

  return <RealtimeContext.Provider value={connection}>{children}</RealtimeContext.Provider>;
}

/** The provider's connection: `null` until it is made (and during server rendering). */
export function useRealtimeConnection(): RealtimeConnection | null {
  const connection = useContext(RealtimeContext);
  if (connection === undefined) {
    throw new Error("realtime hooks must be used inside <RealtimeProvider>");
  }
  return connection;
}
