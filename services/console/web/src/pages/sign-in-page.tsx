import { useEffect, useState } from 'preact/hooks';
import { signInMethods } from '../api.js';

export function SignInPage(props: { error: string | undefined }) {
  const [idp, setIdp] = useState<string | null>(null);
  useEffect(() => {
    // Without an answer the page still shows the one-time link, which always works.
    signInMethods()
      .then((methods) => setIdp(methods.idp))
      .catch(() => setIdp(null));
  }, []);
  return (
    <main class="page sign-in">
      <h1>tokenwatch console</h1>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      {idp ? (
        <p>
          {/* A plain link: the server answers with the redirect to the IdP (and binds the sign-in to this browser). */}
          <a class="button sso" href="/api/oidc/login">Sign in with {idp}</a>
        </p>
      ) : null}
      <p>{idp ? 'Or sign' : 'Sign'} in with a one-time link. On the machine that runs tokenwatch:</p>
      <pre><code>tokenwatch console --user &lt;you&gt;</code></pre>
      <p>and open the link it prints (it works once, within five minutes).</p>
    </main>
  );
}
