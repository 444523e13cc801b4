// Hash routing (#/insights/3): works unchanged behind nginx, PostgREST and the local server.
import { useEffect, useState } from 'react';

function current() {
  const h = window.location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = h.split('?');
  return { path, parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute() {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = () => { setRoute(current()); window.scrollTo(0, 0); };
    const onDataset = () => setRoute(current());
    window.addEventListener('hashchange', on);
    window.addEventListener('ltv-dataset', onDataset);
    return () => {
      window.removeEventListener('hashchange', on);
      window.removeEventListener('ltv-dataset', onDataset);
    };
  }, []);
  return route;
}

export function navigate(path) {
  window.location.hash = path;
}

export const LAST_DATASET_KEY = 'ltv.lastDataset';
export function rememberDataset(id) {
  try {
    if (localStorage.getItem(LAST_DATASET_KEY) === String(id)) return;
    localStorage.setItem(LAST_DATASET_KEY, String(id));
  } catch { /* private mode: the navigation just lacks the shortcut */ }
  window.dispatchEvent(new Event('ltv-dataset'));
}
export function lastDataset() {
  try { return localStorage.getItem(LAST_DATASET_KEY); } catch { return null; }
}
