/**
 * Authentication runs once per request of a non-public route, from the Authorization (or X-API-Key) header;
 * the framework then asks `authorize` for the permission the route declares. An anonymous caller who is
 * refused gets 401 (log in), an authenticated one 403 naming the missing permission.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { forbidden, unauthorized } from '../errors.js';
import type { Authenticator, User } from './authenticator.js';
import { type Authorizer, describePermission, type Permission } from './authorizer.js';

export interface Auth {
  authenticator: Authenticator;
  authorizer: Authorizer;
}

export const LOCAL_USER: User = { username: 'local', groups: [], anonymous: false };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The caller of a request: its bearer token (or X-API-Key, as some OFREP clients send it), or anonymous. */
export function authenticate(authenticator: Authenticator, headers: IncomingHttpHeaders): Promise<User> {
  const header = headers.authorization;
  let token = (headers['x-api-key'] as string | undefined) || undefined;
  if (header) {
    const m = BEARER.exec(header);
    if (!m) return Promise.reject(unauthorized('the Authorization header must be "Bearer <token>"'));
    token = m[1];
  }
  return authenticator.authenticate(token);
}

/** Throws 401/403 unless `user` has every permission given. */
export async function authorize(auth: Auth, user: User, ...permissions: Permission[]): Promise<void> {
  for (const p of permissions) {
    if (!(await auth.authorizer.allowed(user, p))) {
      if (user.anonymous) throw unauthorized(`a bearer token is required to ${describePermission(p)}`);
      throw forbidden(`user "${user.username}" may not ${describePermission(p)}`);
    }
  }
}

export const noAuth: Authenticator = { authenticate: async () => LOCAL_USER };
