// A real OpenID Connect provider (the `oidc-provider` package) on loopback,
// for Vellum's single sign-on tests.
//
//   node e2e/oidc-provider.mjs PORT REDIRECT_URI
//
// One confidential client, `vellum` / `vellum-test-secret`, allowed to send
// people back to REDIRECT_URI. Anyone can sign in with any name at the
// provider's own development login page; the JSON file named by OIDC_ACCOUNTS_FILE (by login
// name) gives accounts their claims:
//   {"ann": {"name": "Ann Lee", "email": "ann@example.test", "groups": ["eng"]}}
// Prints "ready" once it listens.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirect = process.argv[3];
if (!port || !redirect) {
  console.error('usage: node oidc-provider.mjs PORT REDIRECT_URI');
  process.exit(2);
}
// Read at each sign-in, so that a test can change claims between sign-ins.
const accounts = () => (process.env.OIDC_ACCOUNTS_FILE ? JSON.parse(readFileSync(process.env.OIDC_ACCOUNTS_FILE, 'utf8')) : {});
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'vellum',
      client_secret: 'vellum-test-secret',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Claims in the ID token too, not only at the userinfo endpoint: Vellum
  // reads both.
  conformIdTokenClaims: false,
  cookies: { keys: ['vellum-oidc-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const a = accounts()[id] || {};
    return {
      accountId: id,
      async claims() {
        return {
          sub: a.sub || `sub-${id}`,
          preferred_username: a.preferred_username || id,
          name: a.name || id,
          email: a.email || `${id}@example.test`,
          email_verified: a.email_verified ?? true,
          groups: a.groups || [],
        };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log('ready');
});
