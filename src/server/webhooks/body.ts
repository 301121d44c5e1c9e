import { z } from 'zod';
import { FactValue } from '../../api/facts.js';
import { factKeyed, IdentityName, NamespaceName } from '../validate.js';

/** What an outside system posts to /api/v1/webhooks/{name}: facts for one identity; null removes a fact. */
export const WebhookBody = z
  .object({
    namespace: NamespaceName,
    identity: IdentityName,
    facts: factKeyed(FactValue.nullable()),
  })
  .strict();
export type WebhookBody = z.infer<typeof WebhookBody>;
