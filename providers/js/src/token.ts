import { readFile, stat } from 'node:fs/promises';

/** How often at most the token file is stat-ed for changes; kubelet rotates tokens well before expiry. */
const RECHECK_MS = 5_000;

export interface TokenSourceOptions {
  token: string | undefined;
  tokenFile: string | undefined;
  /** The file is only the in-cluster default: its absence means "no token", not an error. */
  tokenFileOptional: boolean;
  onError?: (message: string) => void;
  now?: () => number;
}

/**
 * Supplies the bearer token: a fixed string, or the content of a file that is re-read when its
 * mtime/size/inode changes (checked at most every few seconds) or when `invalidate()` is called
 * after a 401.
 */
export class TokenSource {
  private cached: string | undefined;
  private signature: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<string | undefined> | undefined;
  private lastError: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: TokenSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True when a 401 may be cured by reading the file again. */
  get rotates(): boolean {
    return this.options.token === undefined && this.options.tokenFile !== undefined;
  }

  async get(): Promise<string | undefined> {
    const { token, tokenFile } = this.options;
    if (token !== undefined) return token === '' ? undefined : token;
    if (tokenFile === undefined) return undefined;
    if (this.now() - this.checkedAt < RECHECK_MS) return this.cached;
    // Concurrent evaluations share one stat/read.
    this.pending ??= this.refresh(tokenFile).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forget the check time so the next `get()` looks at the file again. */
  invalidate(): void {
    this.checkedAt = Number.NEGATIVE_INFINITY;
    this.signature = undefined;
  }

  private async refresh(file: string): Promise<string | undefined> {
    try {
      const info = await stat(file);
      const signature = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (signature !== this.signature) {
        this.cached = (await readFile(file, 'utf8')).trim() || undefined;
        this.signature = signature;
      }
    } catch (err) {
      const missing = (err as { code?: unknown }).code === 'ENOENT';
      const message = `cannot read token file ${file}: ${(err as Error).message}`;
      // Report a broken file once, not on every recheck.
      if (!(missing && this.options.tokenFileOptional) && message !== this.lastError) {
        this.options.onError?.(message);
      }
      this.lastError = message;
      this.cached = undefined;
      this.signature = undefined;
      this.checkedAt = this.now();
      return undefined;
    }
    this.lastError = undefined;
    this.checkedAt = this.now();
    return this.cached;
  }
}
