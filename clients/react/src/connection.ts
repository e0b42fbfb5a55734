import { RealtimeClient, type RealtimeOptions, type StatusChange } from "@healthcoach/realtime-web";

/** What the UI may show about the connection: its status and how many of the user's tabs are open. */
export interface ConnectionState {
  status: StatusChange;
  /** Open connections of this user (this tab included), once the server has said. */
  connections: number | undefined;
}

export const INITIAL_STATE: ConnectionState = Object.freeze({
  status: Object.freeze({ status: "idle", attempt: 0 }),
  connections: undefined,
});

/**
 * One `RealtimeClient` and the state React renders from it, as an external store
 * (`useSyncExternalStore`): a new state object on every change, the same one otherwise.
 */
export class RealtimeConnection {
  readonly client: RealtimeClient;
  private state: ConnectionState = INITIAL_STATE;
  private readonly listeners = new Set<() => void>();

  constructor(options: RealtimeOptions) {
    this.client = new RealtimeClient(options);
    this.client.onStatus((status) => this.update({ status }));
    // The client asks for the count on every open (which also tells the other tabs).
    this.client.onPresence((connections) => this.update({ connections }));
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): ConnectionState => this.state;

  private update(change: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener();
  }
}
