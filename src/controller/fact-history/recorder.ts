/**
 * Records each change of an identity's served facts as a FactRevision, on the leader only. It follows the store's
 * change events (its own facts and its profiles' alike: the store holds the merged, served facts), so it records
 * what readers were served. Memory: per identity only the uid, the kept revision numbers and the latest facts hash;
 * revision bodies stay in the API server.
 *
 * Monotonic across leader changes: a new leader first lists every revision's metadata (paged, without facts) and
 * continues from the highest number; names are deterministic and created create-only, so a race with a leader on
 * its way out ends in AlreadyExists, a reload of that identity's numbers and a retry.
 */
import type { Logger } from 'pino';
import { type FactRevisionSpec, factsHash, REVISION_PLURAL } from '../../api/fact-revision.js';
import type { KubeClient } from '../../kube/client.js';
import { objectKeyOf } from '../../store/intern.js';
import type { StoreReader } from '../../store/store.js';
import { FactRevisionWriter } from '../../writes/fact-revision-writer.js';
import { ORIGIN_ANNOTATION } from '../../writes/writer.js';
import type { LeaderOnly } from '../leader.js';
import { beyondLimit, diffFacts, lastWriterOf, writersOf } from './decide.js';
import { ABSENT_CRD_HINT, FactRevisions, HistoryUnavailable, type RevisionRef } from './revisions.js';

export type RevisionOutcome = 'written' | 'pruned' | 'conflict' | 'error';

export interface RecorderOptions {
  client: KubeClient;
  reader: StoreReader;
  /** Watched namespaces; empty: all. */
  namespaces: readonly string[];
  /** Kept per identity unless its spec says otherwise; 0: no history. */
  defaultLimit: number;
  log: Logger;
  onRevision?: (outcome: RevisionOutcome) => void;
  now?: () => Date;
  /** Identities recorded at once. */
  concurrency?: number;
}

/** One identity's history as far as this leader knows it: small on purpose (50,000 of them stay in memory). */
interface Tip {
  uid: string;
  /** Kept revision numbers, ascending. */
  kept: number[];
  hash: string;
}

export class FactHistoryRecorder implements LeaderOnly {
  readonly #o: RecorderOptions;
  readonly #revisions: FactRevisions;
  readonly #writer: FactRevisionWriter;
  readonly #tips = new Map<string, Tip>();
  readonly #pending = new Set<string>();
  readonly #active = new Set<string>();
  /** Bumped on every change of leadership: work of an earlier term stops. */
  #term = 0;
  #seeded = false;
  #unsubscribe: (() => void) | undefined;
  #workers = 0;
  #idle: (() => void)[] = [];

  constructor(o: RecorderOptions) {
    this.#o = o;
    this.#revisions = new FactRevisions(o.client);
    this.#writer = new FactRevisionWriter(o.client);
  }

  setLeading(leading: boolean): void {
    const term = ++this.#term;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#pending.clear();
    this.#tips.clear();
    this.#seeded = false;
    this.#checkIdle();
    // --revision-history-limit=0 turns history off for every identity (no GET per identity to read its spec).
    if (leading && this.#o.defaultLimit > 0) this.#follow(term);
  }

  /** Resolves once nothing is queued or being recorded (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Nothing queued, nothing being recorded, and (while leading) the seed done. */
  #isIdle() {
    return this.#workers === 0 && this.#pending.size === 0 && (this.#seeded || !this.#unsubscribe);
  }

  #checkIdle() {
    if (this.#isIdle()) for (const r of this.#idle.splice(0)) r();
  }

  #follow(term: number) {
    this.#unsubscribe = this.#o.reader.onChange((e) => {
      if (e.kind === 'facts') this.#enqueue(term, objectKeyOf(e.namespace, e.name));
    });
    void this.#seed(term);
  }

  async #seed(term: number) {
    let absent = false;
    for (let attempt = 0; term === this.#term; attempt++) {
      try {
        const namespaces = this.#o.namespaces.length ? this.#o.namespaces : [undefined];
        // Folded page by page: 500,000 revisions' metadata never sit in memory at once.
        const seen = new Map<string, Seen>();
        for (const ns of namespaces) {
          for await (const page of this.#revisions.allRefs(ns)) {
            if (term !== this.#term) return;
            for (const r of page) foldRef(seen, objectKeyOf(r.namespace, r.identity), r);
          }
        }
        for (const [key, s] of seen)
          this.#tips.set(key, { uid: s.uid, kept: s.kept.sort((a, b) => a - b), hash: s.hash });
        this.#seeded = true;
        // Identities whose served facts changed while nobody was leading.
        for (const item of this.#o.reader.list().items) {
          const facts = item.facts;
          if (!facts) continue;
          const key = objectKeyOf(item.namespace, item.name);
          if (this.#tips.get(key)?.hash !== factsHash(facts.values)) this.#pending.add(key);
        }
        this.#o.log.info({ identities: this.#tips.size, pending: this.#pending.size }, 'fact history seeded');
        this.#pump(term);
        this.#checkIdle();
        return;
      } catch (err) {
        if (err instanceof HistoryUnavailable) {
          // Said once per term, then looked for again every 10 s, as the informers do for the profile CRDs.
          if (!absent) this.#o.log.warn({ resource: REVISION_PLURAL }, ABSENT_CRD_HINT);
          absent = true;
          await sleep(10_000);
          continue;
        }
        this.#o.log.warn({ err, attempt }, 'fact history seed failed');
        await sleep(Math.min(30_000, 500 * 2 ** attempt));
      }
    }
  }

  #enqueue(term: number, key: string) {
    if (term !== this.#term) return;
    this.#pending.add(key);
    if (this.#seeded) this.#pump(term);
  }

  #pump(term: number) {
    const max = this.#o.concurrency ?? 4;
    while (this.#workers < max && term === this.#term) {
      let key: string | undefined;
      for (const k of this.#pending) {
        if (this.#active.has(k)) continue;
        key = k;
        break;
      }
      if (key === undefined) break;
      this.#pending.delete(key);
      this.#active.add(key);
      this.#workers++;
      void this.#record(term, key)
        .catch((err: unknown) => {
          this.#o.onRevision?.('error');
          this.#o.log.warn({ err, key }, 'fact revision not recorded');
          // Retried after a pause (not at once: the API server may be down).
          setTimeout(() => this.#enqueue(term, key), 2000).unref();
        })
        .finally(() => {
          this.#active.delete(key);
          this.#workers--;
          this.#pump(term);
          this.#checkIdle();
        });
    }
  }

  async #record(term: number, key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const served = this.#o.reader.get(namespace, name)?.facts;
    if (!served) {
      this.#tips.delete(key); // gone: the garbage collector removes its revisions with it
      return;
    }
    const obj = await this.#revisions.identity(namespace, name);
    const uid = obj?.metadata.uid;
    if (!obj || !uid || term !== this.#term) return;
    let tip = this.#tips.get(key);
    if (!tip || tip.uid !== uid) tip = tipOf(await this.#revisions.refsOf(namespace, uid), uid);
    const limit = obj.spec?.revisionHistoryLimit ?? this.#o.defaultLimit;
    const hash = factsHash(served.values);
    if (tip.hash !== hash && limit > 0) {
      const latest = tip.kept.at(-1) ?? 0;
      const prevRevision = latest
        ? (await this.#revisions.get(namespace, name, uid, latest))?.spec
        : undefined;
      const prev = prevRevision?.facts;
      let diff = diffFacts(prev, served.values);
      const spec = (): FactRevisionSpec => ({
        identity: name,
        revision: latest + 1,
        facts: { ...served.values },
        diff,
        writers: writersOf(
          served,
          diff,
          lastWriterOf(
            obj.metadata.managedFields,
            obj.metadata.annotations?.[ORIGIN_ANNOTATION],
            prevRevision?.recordedAt,
          ),
        ),
        recordedAt: (this.#o.now?.() ?? new Date()).toISOString(),
        resourceVersion: served.resourceVersion,
        generation: served.generation,
        ...secretsOf(this.#o.reader.get(namespace, name)?.secrets),
      });
      if (term !== this.#term) return;
      let created: 'created' | 'exists';
      try {
        created = await this.#writer.create(namespace, uid, spec());
      } catch (err) {
        if (!(err instanceof Error && 'errorClass' in err && err.errorClass === 'tooLarge')) throw err;
        diff = diffFacts(prev, served.values, 0);
        created = await this.#writer.create(namespace, uid, spec());
      }
      if (created === 'exists') {
        // Another leader took this number: reload and try again.
        this.#o.onRevision?.('conflict');
        this.#tips.delete(key);
        this.#enqueue(term, key);
        return;
      }
      this.#o.onRevision?.('written');
      tip = { uid, kept: [...tip.kept, latest + 1], hash };
    } else if (tip.hash !== hash) {
      tip = { ...tip, hash };
    }
    for (const revision of beyondLimit(tip.kept, limit)) {
      if (term !== this.#term) return;
      await this.#writer.delete(namespace, name, uid, revision);
      tip = { ...tip, kept: tip.kept.filter((r) => r !== revision) };
      this.#o.onRevision?.('pruned');
    }
    if (term === this.#term) this.#tips.set(key, tip);
  }
}

/** An identity's revisions seen so far by the seed: of its newest uid only. */
interface Seen {
  uid: string;
  created: string;
  kept: number[];
  top: number;
  hash: string;
}

function foldRef(seen: Map<string, Seen>, key: string, r: RevisionRef) {
  let s = seen.get(key);
  // A recreated identity's old revisions wait for the garbage collector: the newest uid's are the ones that count.
  if (s && s.uid !== r.uid) {
    if (r.created <= s.created) return;
    s = undefined;
  }
  if (!s) {
    seen.set(key, { uid: r.uid, created: r.created, kept: [r.revision], top: r.revision, hash: r.hash });
    return;
  }
  s.kept.push(r.revision);
  if (r.created > s.created) s.created = r.created;
  if (r.revision > s.top) {
    s.top = r.revision;
    s.hash = r.hash;
  }
}

/** The tip of one identity from its revisions' metadata: those of its current uid (the newest created, if mixed). */
function tipOf(refs: readonly RevisionRef[], uid: string): Tip {
  const current = uid;
  const mine = refs.filter((r) => r.uid === current).sort((a, b) => a.revision - b.revision);
  return { uid: current, kept: mine.map((r) => r.revision), hash: mine.at(-1)?.hash ?? '' };
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** The identity's secrets at that moment: key names and the DeploymentSecrets' version, never a value. */
function secretsOf(
  secrets: { values: ReadonlyMap<string, unknown>; resourceVersion: string } | undefined,
): Pick<FactRevisionSpec, 'secrets'> {
  if (!secrets) return {};
  return { secrets: { names: [...secrets.values.keys()].sort(), resourceVersion: secrets.resourceVersion } };
}
