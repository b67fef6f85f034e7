import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, signIn, signOut, type Session } from './api.js';
import { AlertPage } from './pages/alert-page.js';
import { ClientPage } from './pages/client-page.js';
import { FeedPage } from './pages/feed-page.js';
import { HealthPage } from './pages/health-page.js';
import { InvestigatePage } from './pages/investigate-page.js';
import { PrecisionPage } from './pages/precision-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { Link, usePath } from './router.js';
import './style.css';

/** The one-time token of a `tokenwatch console` link rides in the fragment: read it, then drop it from the address bar. */
function takeLoginToken(): string | undefined {
  const match = /^#login=([A-Za-z0-9_.-]{1,512})$/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', location.pathname + location.search);
  return match[1];
}

/** The pages without parameters, by path; anything else is the feed. */
const PAGES: Record<string, () => JSX.Element> = {
  '/client': ClientPage,
  '/health': HealthPage,
  '/investigate': InvestigatePage,
  '/precision': PrecisionPage,
};

function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const path = usePath();

  useEffect(() => {
    const token = takeLoginToken();
    (token ? signIn(token) : currentSession())
      .then((found) => setSession(found))
      .catch((failure: Error) => setError(failure.message))
      .finally(() => setChecked(true));
  }, []);

  if (!checked) return <main class="page" aria-busy="true" />;
  if (!session) return <SignInPage error={error} />;

  const alertId = /^\/alerts\/([0-9a-f]{32})$/.exec(path)?.[1];
  const Page = PAGES[path.split('?')[0] ?? ''] ?? FeedPage;
  return (
    <>
      <header class="bar">
        <Link href="/" class="brand">tokenwatch</Link>
        <nav>
          <Link href="/">Alerts</Link>
          <Link href="/investigate">Investigate</Link>
          <Link href="/precision">Precision</Link>
          <Link href="/health">Health</Link>
        </nav>
        <span class="user">
          {session.user}{' '}
          <button type="button" class="link" onClick={() => void signOut().then(() => setSession(undefined))}>sign out</button>
        </span>
      </header>
      <main class="page">{alertId ? <AlertPage id={alertId} /> : <Page />}</main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
