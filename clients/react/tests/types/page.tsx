// A Next.js page as the app would write it: `tsc --strict` must accept it (the test runs tsc).
import type { ReactNode } from "react";

import {
  RealtimeProvider,
  useConnectionState,
  useInvalidateQueriesOnEvents,
  useRealtimeEvent,
} from "../../dist/index.js";

export function FoodToasts({ toast }: { toast: (text: string) => void }) {
  useRealtimeEvent(["foodLogCreated", "foodLogDeleted"], (event) => {
    if (event.type === "foodLogCreated") {
      const calories: number | undefined = event.data.calories;
      toast(`${event.data.name ?? "food"}: ${calories ?? 0} kcal`);
    } else {
      // @ts-expect-error a deleted event carries only its id
      toast(String(event.data.calories));
      toast(`removed ${event.data.id}`);
    }
  });
  // @ts-expect-error not an event type
  useRealtimeEvent("foodLogRemoved", () => {});
  return null;
}

export function LiveBadge() {
  const { status, connections } = useConnectionState();
  return <span data-status={status.status}>{connections ?? "?"}</span>;
}

export function LiveQueries() {
  useInvalidateQueriesOnEvents(
    { foodLogCreated: [["foodLogs"], ["dailySummary"]], healthProfileUpdated: [["healthProfile"]] },
    {
      onInvalidate: (keys, cause) =>
        console.log(`Refreshed ${JSON.stringify(keys)} (${cause === "resync" ? cause : cause.type})`),
    },
  );
  // @ts-expect-error keys are arrays of query keys
  useInvalidateQueriesOnEvents({ foodLogCreated: "foodLogs" });
  return null;
}

export function Root({ children, idToken }: { children: ReactNode; idToken: () => Promise<string> }) {
  return (
    <RealtimeProvider getToken={idToken} url={process.env.NEXT_PUBLIC_WS_URL}>
      {children}
    </RealtimeProvider>
  );
}

declare const process: { env: Record<string, string | undefined> };
