import { lastDataset, useRoute } from './lib/router.js';
import Welcome from './screens/Welcome.jsx';
import Upload from './screens/Upload.jsx';
import Processing from './screens/Processing.jsx';
import Insights from './screens/Insights.jsx';
import Customer from './screens/Customer.jsx';
import { Empty } from './components/ui.jsx';

function NavLink({ href, active, children, disabled }) {
  if (disabled) return <span className="rounded-md px-2 py-1.5 text-slate-400 sm:px-3">{children}</span>;
  return (
    <a href={href} aria-current={active ? 'page' : undefined}
      className={`rounded-md px-2 py-1.5 font-medium sm:px-3 ${active ? 'bg-indigo-50 text-indigo-700' : 'text-slate-600 hover:bg-slate-100 hover:text-slate-900'}`}>
      {children}
    </a>
  );
}

export default function App() {
  const route = useRoute();
  const [screen = 'welcome', arg1, arg2] = route.parts;
  const ds = (['processing', 'insights', 'customers'].includes(screen) && arg1) || lastDataset();

  let body;
  switch (screen) {
    case 'welcome': body = <Welcome />; break;
    case 'upload': body = <Upload />; break;
    case 'processing': body = <Processing datasetId={Number(arg1)} />; break;
    case 'insights': body = <Insights datasetId={Number(arg1)} runId={Number(route.query.get('run')) || null} />; break;
    case 'customers': body = <Customer datasetId={Number(arg1)} customerId={arg2 || ''} />; break;
    default: body = <Empty title="This page does not exist."><a className="text-indigo-700 underline" href="#/">Go to the start page</a></Empty>;
  }
  if (['processing', 'insights', 'customers'].includes(screen) && !(Number(arg1) > 0)) {
    body = <Empty title="No dataset chosen."><a className="text-indigo-700 underline" href="#/">Choose or upload a dataset</a></Empty>;
  }

  return (
    <div className="min-h-screen">
      <header className="sticky top-0 z-20 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-4 gap-y-1 px-3 py-2 sm:px-6">
          <a href="#/" className="flex items-center gap-2 py-1 font-semibold text-slate-900">
            <span className="inline-flex h-7 w-7 items-center justify-center rounded-md bg-indigo-600 text-white" aria-hidden="true">
              <svg viewBox="0 0 16 16" className="h-4 w-4" fill="currentColor"><path d="M3 13h2V8H3zm4 0h2V5H7zm4 0h2V3h-2z" /></svg>
            </span>
            Customer value outlook
          </a>
          <nav className="flex flex-wrap items-center gap-1 text-sm" aria-label="Main">
            <NavLink href="#/" active={screen === 'welcome'}>Start</NavLink>
            <NavLink href="#/upload" active={screen === 'upload'}>Upload</NavLink>
            <NavLink href={ds ? `#/insights/${ds}` : undefined} disabled={!ds} active={screen === 'insights' || screen === 'processing'}>Insights</NavLink>
            <NavLink href={ds ? `#/customers/${ds}` : undefined} disabled={!ds} active={screen === 'customers'}>Customers</NavLink>
          </nav>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-3 py-6 sm:px-6 sm:py-8">{body}</main>
      <footer className="mx-auto max-w-6xl px-3 pb-8 text-xs text-slate-400 sm:px-6">
        Your data stays in your own PostgreSQL database (retail_ltv).
      </footer>
    </div>
  );
}
