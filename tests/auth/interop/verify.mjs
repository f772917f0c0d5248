// Verifies a DCCS access token the way another service would: with a stock JWT library (jose) and nothing
// but our published JWKS.
//
//   node tests/auth/interop/verify.mjs JWKS_FILE TOKEN_FILE ISSUER AUDIENCE
//
// Prints the verified payload as JSON and exits 0, or prints the error and exits 1 (2 for bad usage).
import { readFileSync } from 'node:fs';
import * as jose from 'jose';

const [jwksFile, tokenFile, issuer, audience] = process.argv.slice(2);
if (!jwksFile || !tokenFile || !issuer || !audience) {
  console.error('usage: node verify.mjs JWKS_FILE TOKEN_FILE ISSUER AUDIENCE');
  process.exit(2);
}

try {
  const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
  const token = readFileSync(tokenFile, 'utf8').trim();
  const { payload } = await jose.jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: ['EdDSA'],
  });
  console.log(JSON.stringify(payload));
  process.exit(0);
} catch (err) {
  console.log(`verification failed: ${err.code ?? err.name}: ${err.message}`);
  process.exit(1);
}
