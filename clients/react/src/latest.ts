import { useEffect, useRef } from "react";

/**
 * A ref that always holds the latest `value` (updated after each commit): callbacks read it, so
 * a new function identity on every render never resubscribes or reconnects anything.
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  });
  return ref;
}
