export function SignInPage(props: { error: string | undefined }) {
  return (
    <main class="page sign-in">
      <h1>tokenwatch console</h1>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <p>Sign in with a one-time link. On the machine that runs tokenwatch:</p>
      <pre><code>tokenwatch console --user &lt;you&gt;</code></pre>
      <p>and open the link it prints (it works once, within five minutes).</p>
    </main>
  );
}
