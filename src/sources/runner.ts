/**
 * Runs one FactSource: read the connection Secret, query, turn rows into facts, apply them, write status. Syncs
 * every `intervalSeconds`, at once on a NOTIFY, and after a failure again with a growing pause that never exceeds
 * the interval. One sync at a time; a trigger during a sync runs another right after.
 */
import type { Logger } from 'pino';
import { sourceFieldManager } from '../api/field-managers.js';
import { API_VERSION, GROUP, VERSION } from '../api/group.js';
import {
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_MAX_RESULT_BYTES,
  DEFAULT_MAX_ROWS,
  DEFAULT_TIMEOUT_SECONDS,
  FactSourceSpec,
  SOURCES_KIND,
  SOURCES_PLURAL,
} from '../api/sources.js';
import type { FactSource, SecretObject } from '../api/types.js';
import type { EventRecorder } from '../controller/events.js';
import type { StatusWriter } from '../controller/status.js';
import type { KubeClient } from '../kube/client.js';
import { errorSummary, KubeApiError } from '../kube/errors.js';
import { corePath } from '../kube/paths.js';
import { applyPlans, listFacts, planApply } from './apply.js';
import { connectionFromSecret } from './connection.js';
import { PgSession, SourceError, toSourceError } from './postgres.js';
import { factsFromRows } from './result.js';
import { decideStatus, type SyncOutcome } from './status.js';

export const sourcesPath = (namespace?: string, name?: string) =>
  `/apis/${GROUP}/${VERSION}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${SOURCES_PLURAL}${
    name ? `/${encodeURIComponent(name)}` : ''
  }`;

export interface RunnerDeps {
  client: KubeClient;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
  /** Pause before a sync triggered by NOTIFY, to fold a burst of notifications into one sync. */
  notifyDebounceMs?: number;
  /** Bytes of a result read before the sync fails (--source-max-result-bytes). */
  maxResultBytes?: number;
}

export class SourceRunner {
  #source: FactSource;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #failures = 0;
  readonly #session: PgSession;
  readonly #log: Logger;
  readonly #now: () => Date;

  constructor(
    private readonly deps: RunnerDeps,
    source: FactSource,
  ) {
    this.#source = source;
    this.#now = deps.now ?? (() => new Date());
    this.#log = deps.log.child({
      kind: SOURCES_KIND,
      namespace: source.metadata.namespace,
      name: source.metadata.name,
    });
    this.#session = new PgSession(
      () => this.trigger(deps.notifyDebounceMs ?? 25),
      (message) => {
        this.#log.warn({ reason: 'ConnectionFailed', err: { message } }, 'source connection lost');
        // Find out at once whether the database is gone (Ready=False) or the connection merely dropped.
        this.trigger(0);
      },
    );
  }

  get uid(): string | undefined {
    return this.#source.metadata.uid;
  }

  get key(): string {
    return `${this.#source.metadata.namespace}/${this.#source.metadata.name}`;
  }

  start(): void {
    this.#stopped = false;
    this.trigger(0);
  }

  /** A newer version of the object: a new generation syncs at once; a status-only change just refreshes it. */
  update(source: FactSource): void {
    const newGeneration = source.metadata.generation !== this.#source.metadata.generation;
    this.#source = source;
    if (newGeneration) {
      this.#failures = 0;
      this.trigger(0);
    }
  }

  /** Sync after `delayMs` (sooner than an already planned sync only). */
  trigger(delayMs = 0): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(delayMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#session.close();
  }

  /** Runs one sync now and waits for it (tests). */
  async syncNow(): Promise<void> {
    await this.#running;
    await this.#run();
  }

  #schedule(delayMs: number, replace = false) {
    const due = Date.now() + delayMs;
    // A sync already planned sooner stays, so that a stream of NOTIFYs cannot keep pushing it back.
    if (this.#timer && !replace && this.#dueAt <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#stopped || this.#running) return;
    let next: number | undefined;
    this.#running = (async () => {
      next = await this.#syncOnce();
    })();
    try {
      await this.#running;
    } finally {
      this.#running = undefined;
    }
    if (this.#stopped || next === undefined) return;
    if (this.#again) {
      this.#again = false;
      next = 0;
    }
    this.#schedule(next, true);
  }

  /** One sync; returns when to sync next (undefined: not until the object changes). */
  async #syncOnce(): Promise<number | undefined> {
    const source = this.#source;
    const started = Date.now();
    const parsed = FactSourceSpec.safeParse(source.spec ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `spec.${i.path.join('.')}: ${i.message}`)
        .join('; ');
      await this.#session.close();
      await this.#report(source, { ok: false, reason: 'InvalidSpec', message: `invalid spec: ${issues}` });
      return undefined;
    }
    const spec = parsed.data;
    const intervalMs = (spec.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000;
    if (spec.suspend) {
      await this.#session.close();
      await this.#report(source, {
        ok: false,
        reason: 'Suspended',
        message: 'spec.suspend is true; the facts already written stay',
      });
      return undefined;
    }
    let outcome: SyncOutcome;
    try {
      outcome = await this.#sync(source, spec);
      this.#failures = 0;
    } catch (err) {
      const e =
        err instanceof SourceError
          ? err
          : err instanceof KubeApiError
            ? new SourceError('ApplyFailed', `the Kubernetes API server: ${err.message}`)
            : toSourceError(err, [], 'query');
      outcome = { ok: false, reason: e.reason, message: e.message };
      this.#failures++;
    }
    this.#log[outcome.ok ? 'debug' : 'warn'](
      outcome.ok
        ? {
            outcome: 'synced',
            rows: outcome.rows,
            identities: outcome.identities,
            facts: outcome.factsWritten,
            problems: outcome.problems.length,
            durationMs: Date.now() - started,
          }
        : {
            outcome: 'failed',
            reason: outcome.reason,
            err: { message: outcome.message },
            durationMs: Date.now() - started,
          },
      'source synced',
    );
    try {
      await this.#report(source, outcome);
    } catch (err) {
      this.#log.warn({ err: errorSummary(err) }, 'source status not written');
    }
    if (outcome.ok) return intervalMs;
    // Retry sooner than the interval while failing: 1 s, 2 s, 4 s… never more than the interval.
    const backoff = Math.min(intervalMs, 1000 * 2 ** Math.min(this.#failures - 1, 10));
    return Math.round(backoff * (0.8 + Math.random() * 0.4));
  }

  async #sync(source: FactSource, spec: FactSourceSpec): Promise<SyncOutcome> {
    const { namespace, name } = source.metadata;
    const pgSpec = spec.postgres;
    const timeoutMs = (spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    let secret: SecretObject;
    try {
      secret = await this.deps.client.get<SecretObject>(
        corePath('secrets', namespace, pgSpec.connectionSecretRef.name),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound')
        throw new SourceError(
          'ConnectionSecretInvalid',
          `Secret ${pgSpec.connectionSecretRef.name} not found in namespace ${namespace}`,
        );
      throw err;
    }
    const conn = (() => {
      try {
        return connectionFromSecret(secret, pgSpec.connectionSecretRef.key, {
          timeoutMs,
          applicationName: sourceFieldManager(name),
        });
      } catch (err) {
        throw toSourceError(err, [], 'connect');
      }
    })();
    await this.#session.ensure(conn, pgSpec.listenChannel);
    const result = await this.#session.query(pgSpec.query, {
      maxRows: spec.maxRows ?? DEFAULT_MAX_ROWS,
      maxBytes: this.deps.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    });
    let facts: ReturnType<typeof factsFromRows>;
    try {
      facts = factsFromRows(result.rows, result.columns, pgSpec.shape ?? 'rows');
    } catch (err) {
      throw toSourceError(err, conn.secrets, 'query', conn.names);
    }
    const manager = sourceFieldManager(name);
    const current = await listFacts(this.deps.client, namespace);
    const plans = planApply(manager, facts.identities, current);
    const applied = await applyPlans(this.deps.client, namespace, manager, plans);
    return {
      ok: true,
      rows: facts.rows,
      identities: facts.identities.size,
      factsWritten: applied.factsWritten,
      problems: [...facts.problems, ...applied.problems],
    };
  }

  async #report(source: FactSource, outcome: SyncOutcome): Promise<void> {
    // The newest object we have: our own last status write included, so an unchanged status is not rewritten.
    const latest = this.#source.metadata.uid === source.metadata.uid ? this.#source : source;
    const decision = decideStatus(latest.status, outcome, latest.metadata.generation ?? 0, this.#now());
    const { namespace, name } = latest.metadata;
    const wrote = await this.deps.status.write(sourcesPath(namespace, name), latest.status, decision.status);
    if (wrote) {
      // Until the informer delivers our write, compare against what we wrote.
      this.#source = { ...latest, status: decision.status };
      if (decision.warning) {
        await this.deps.events.record(
          { apiVersion: API_VERSION, kind: SOURCES_KIND, metadata: latest.metadata },
          'Warning',
          decision.warning.reason,
          decision.warning.message,
        );
      }
      this.#log.info(
        {
          generation: latest.metadata.generation,
          outcome: outcome.ok ? 'synced' : 'failed',
          reason: decision.status.conditions?.find((c) => c.type === 'Ready')?.reason,
        },
        'source status written',
      );
    }
  }
}
