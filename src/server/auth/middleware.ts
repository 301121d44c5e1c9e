/**
 * Authentication runs once per request and leaves the user on res.locals; each route then asks `authorize` for
 * the permission it needs. An anonymous caller who is refused gets 401 (log in), an authenticated one 403 naming
 * the missing permission.
 */
import type { RequestHandler, Response } from 'express';
import { forbidden, unauthorized } from '../errors.js';
import { ANONYMOUS, type Authenticator, type User } from './authenticator.js';
import { type Authorizer, describePermission, type Permission } from './authorizer.js';

export interface Auth {
  authenticator: Authenticator;
  authorizer: Authorizer;
}

export const LOCAL_USER: User = { username: 'local', groups: [], anonymous: false };

export function authenticate(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    // OFREP clients may send the token as X-API-Key instead of a bearer token.
    let token = req.get('x-api-key') || undefined;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return next(unauthorized('the Authorization header must be "Bearer <token>"'));
      token = m[1];
    }
    res.locals.user = await authenticator.authenticate(token);
    next();
  };
}

export function userOf(res: Response): User {
  return (res.locals.user as User | undefined) ?? ANONYMOUS;
}

/** Whether the request's user has the permission (no error either way). */
export function allowedTo(auth: Auth, res: Response, p: Permission): Promise<boolean> {
  return auth.authorizer.allowed(userOf(res), p);
}

/** Throws 401/403 unless the request's user has every permission given. */
export async function authorize(auth: Auth, res: Response, ...permissions: Permission[]): Promise<void> {
  const user = userOf(res);
  for (const p of permissions) {
    if (!(await auth.authorizer.allowed(user, p))) {
      if (user.anonymous) throw unauthorized(`a bearer token is required to ${describePermission(p)}`);
      throw forbidden(`user "${user.username}" may not ${describePermission(p)}`);
    }
  }
}

export const noAuth: Authenticator = { authenticate: async () => LOCAL_USER };
