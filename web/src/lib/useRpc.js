import { useCallback, useEffect, useRef, useState } from 'react';
import { rpc } from './api.js';

/**
 * Calls ltv_api.<fn>(args) whenever the serialized args change (skip when args is null).
 * Returns {data, error, loading, reload}. Stale answers are dropped.
 */
export function useRpc(fn, args) {
  const key = args === null ? null : JSON.stringify(args);
  const [state, setState] = useState({ data: null, error: null, loading: key !== null });
  const seq = useRef(0);
  const load = useCallback(() => {
    if (key === null) { setState({ data: null, error: null, loading: false }); return undefined; }
    const my = ++seq.current;
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, error: null, loading: true }));
    rpc(fn, JSON.parse(key), { signal: ctl.signal }).then(
      (data) => { if (my === seq.current) setState({ data, error: null, loading: false }); },
      (error) => { if (my === seq.current && error.name !== 'AbortError') setState({ data: null, error, loading: false }); },
    );
    return () => ctl.abort();
  }, [fn, key]);
  useEffect(() => load(), [load]);
  return { ...state, reload: load };
}
