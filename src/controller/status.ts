/** Writes `/status` in one place, only when it changed, and only while this replica may write. */
import type { Logger } from 'pino';
import { STATUS_FIELD_MANAGER } from '../api/field-managers.js';
import type { KubeClient } from '../kube/client.js';
import { isNotFound } from '../kube/errors.js';
import { sameStatus } from './conditions.js';

export interface StatusWriter {
  /** Returns true when a patch was sent. */
  write(objectPath: string, current: unknown, desired: unknown): Promise<boolean>;
}

export class KubeStatusWriter implements StatusWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    /** Standby replicas serve reads but leave status to the leader. */
    private readonly canWrite: () => boolean = () => true,
  ) {}

  async write(objectPath: string, current: unknown, desired: unknown): Promise<boolean> {
    if (sameStatus(current ?? {}, desired) || !this.canWrite()) return false;
    try {
      await this.client.mergePatch(
        `${objectPath}/status`,
        { status: desired },
        {
          query: { fieldManager: STATUS_FIELD_MANAGER },
        },
      );
      return true;
    } catch (err) {
      // Deleted since it was read: nothing left to report on.
      if (isNotFound(err)) {
        this.log.debug({ path: objectPath }, 'status target gone');
        return false;
      }
      throw err;
    }
  }
}
