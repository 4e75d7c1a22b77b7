// A real OpenID provider for the SSO tests and the demo: npm's oidc-provider (a
// certified implementation), run with Debian's nodejs.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 0, "issuer": "http://127.0.0.1:PORT",
//   "jwks": {"keys": [private JWKs; the first one signs]},
//   "clients": [{"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris"}],
//   "accounts": [{"sub", "email", "password", "name", "locale", "groups"}],
//   "id_token_ttl": 600}
//
// The login form is this file's own (e-mail and password, checked against the
// accounts), and consent is granted at once (first-party clients): no page loads
// anything from another site. It prints "listening <issuer>" once it serves.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { URLSearchParams } from 'node:url';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || [];

const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(config.issuer, {
  clients: config.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: config.jwks,
  cookies: { keys: ['unisupport-test-oidc-cookie-key'] },
  conformIdTokenClaims: false, // the profile and e-mail claims travel in the ID token
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'locale', 'groups'],
  },
  pkce: { required: () => true },
  ttl: { IdToken: config.id_token_ttl || 600 },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<p><strong>${escape(k)}</strong>: ${escape(v)}</p>`).join(''));
  },
  async findAccount(ctx, id) {
    const account = accounts.find((a) => a.sub === id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: true,
          name: account.name,
          locale: account.locale,
          groups: account.groups || [],
        };
      },
    };
  },
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; if (data.length > 65536) reject(new Error('too large')); });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

function loginForm(uid, error) {
  return page('Sign in to the test identity provider', `
${error ? `<p role="alert" id="op-error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
  <label for="op-email">E-mail</label> <input id="op-email" type="email" name="email" required>
  <label for="op-password">Password</label> <input id="op-password" type="password" name="password" required>
  <button id="op-submit" type="submit">Sign in</button>
</form>`);
}

async function grantConsent(req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name === 'consent') return grantConsent(req, res, details);
  if (req.method === 'POST' && action === 'login') {
    const form = await readBody(req);
    const account = accounts.find((a) => a.email === form.get('email') && a.password === form.get('password'));
    if (!account) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(loginForm(uid, 'Unknown e-mail or wrong password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  return res.end(loginForm(uid));
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(req.url.split('?')[0]);
  if (!match) return callback(req, res);
  return interaction(req, res, match[1], match[2]).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Error', `<p>${escape(error.message)}</p>`));
  });
});
server.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${config.issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
