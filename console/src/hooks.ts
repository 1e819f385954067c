import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, api } from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiFailure | null;
  loading: boolean;
  reload: () => void;
}

/** GET `path` (null: nothing to get) whenever it changes; the last answer wins, earlier ones in flight are dropped. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiFailure | null; loading: boolean }>({
    data: null,
    error: null,
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const mine = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    api<T>('GET', path).then(
      (data) => mine === latest.current && setState({ data, error: null, loading: false }),
      (e: unknown) => mine === latest.current && setState({ data: null, error: asFailure(e), loading: false }),
    );
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function asFailure(e: unknown): ApiFailure {
  return e instanceof ApiFailure ? e : new ApiFailure(0, 'network_error', e instanceof Error ? e.message : String(e), null);
}

/** Runs `fn` every `ms` while the page is visible (the console never polls a hidden tab). */
export function useInterval(fn: () => void, ms: number | null): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}
