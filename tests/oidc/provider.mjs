// The OpenID provider the test suite signs in through: oidc-provider (the certified Node
// implementation) with its development login and consent pages.
//
//   PORT=5601 OIDC_CLIENTS='[{...}]' OIDC_ACCOUNTS='{"id": {claims}}' node provider.mjs
//
// OIDC_CLIENTS: the client registrations (client_id, client_secret, redirect_uris).
// OIDC_ACCOUNTS: the accounts by the login typed into the dev login form, with their claims.
// PKCE (S256) is required of every client.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const clients = JSON.parse(process.env.OIDC_CLIENTS);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  // Every claim in the ID token too, as many company providers send them.
  conformIdTokenClaims: false,
  cookies: { keys: ['contentfeed-test-cookie-key'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...claims };
      },
    };
  },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
