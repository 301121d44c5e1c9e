import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envName, flagTable, parseConfig, usage } from './config.js';

const DEFAULTS = {
  namespaces: [],
  defaultNamespace: 'default',
  listen: { host: '0.0.0.0', port: 8080 },
  auth: 'kubernetes',
  logLevel: 'info',
  tokenAudiences: [],
  maxBodyBytes: 1048576,
  sourceMaxResultBytes: 16777216,
  corsAllowedOrigins: [],
  maxStreams: 1000,
  maxStreamsPerCaller: 100,
  leaderElection: {
    enabled: false,
    namespace: 'default',
    id: 'flagops-data-store',
    leaseDurationMs: 15000,
    renewDeadlineMs: 10000,
    retryPeriodMs: 2000,
  },
  shutdownTimeoutMs: 10000,
  http: { headersTimeoutMs: 5000, requestTimeoutMs: 10000, keepAliveTimeoutMs: 5000 },
  statusQps: 50,
  statusBurst: 100,
  configMapProjections: false,
  revisionHistoryLimit: 10,
  exposeToRequired: true,
  argocdApplicationMapping: ['name'],
  argocdApplicationNamespaces: [],
};

describe('parseConfig', () => {
  it('has defaults', () => {
    expect(parseConfig([], {})).toEqual({ config: DEFAULTS });
  });

  it('reads the byte bound of FactSource results, within its range', () => {
    expect(parseConfig(['--source-max-result-bytes=1048576'], {})).toMatchObject({
      config: { sourceMaxResultBytes: 1048576 },
    });
    for (const bad of ['1024', '2000000000', '16Mi', '-1'])
      expect(parseConfig([`--source-max-result-bytes=${bad}`], {})).toEqual({
        error: 'invalid --source-max-result-bytes: must be a whole number of bytes from 65536 to 1073741824',
      });
  });

  it('reads the slow-client timeouts; the headers may not take longer than the request', () => {
    expect(
      parseConfig(
        ['--http-headers-timeout=1s', '--http-request-timeout=2s', '--http-keep-alive-timeout=500ms'],
        {},
      ),
    ).toMatchObject({
      config: { http: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 500 } },
    });
    expect(parseConfig(['--http-headers-timeout=20s'], {})).toEqual({
      error: '--http-headers-timeout must not be longer than --http-request-timeout',
    });
    expect(parseConfig(['--http-request-timeout=0s'], {})).toEqual({
      error: expect.stringContaining('is not a duration'),
    });
  });

  it('requires expose-to unless told otherwise', () => {
    expect(parseConfig(['--expose-to-required=false'], {})).toMatchObject({
      config: { exposeToRequired: false },
    });
    expect(parseConfig([], { FLAGOPS_EXPOSE_TO_REQUIRED: 'false' })).toMatchObject({
      config: { exposeToRequired: false },
    });
    expect(parseConfig(['--expose-to-required=no'], {})).toEqual({
      error: 'invalid --expose-to-required: must be true or false',
    });
  });

  it('turns ConfigMap projections on with a bare flag or the environment', () => {
    expect(parseConfig(['--configmap-projections'], {})).toMatchObject({
      config: { configMapProjections: true },
    });
    expect(parseConfig([], { FLAGOPS_CONFIGMAP_PROJECTIONS: 'true' })).toMatchObject({
      config: { configMapProjections: true },
    });
    expect(parseConfig(['--configmap-projections=maybe'], {})).toEqual({
      error: 'invalid --configmap-projections: must be true or false',
    });
  });

  it('reads CORS origins and stream caps, refusing what is not an origin or a count', () => {
    const r = parseConfig(
      ['--cors-allowed-origins=https://app.example.com, http://localhost:3000,https://app.example.com'],
      { FLAGOPS_MAX_STREAMS_PER_CALLER: '5', FLAGOPS_MAX_STREAMS: '50' },
    );
    expect(r).toEqual({
      config: {
        ...DEFAULTS,
        corsAllowedOrigins: ['https://app.example.com', 'http://localhost:3000'],
        maxStreams: 50,
        maxStreamsPerCaller: 5,
      },
    });
    for (const bad of [
      'https://app.example.com/path',
      'app.example.com',
      'ftp://x.example',
      'https://a.example/',
    ])
      expect(parseConfig([`--cors-allowed-origins=${bad}`], {})).toEqual({
        error: expect.stringContaining('is not an origin'),
      });
    expect(parseConfig(['--max-streams-per-caller=0'], {})).toEqual({
      error: expect.stringContaining('whole number'),
    });
  });

  it('reads flags in both forms, and environment variables, flags winning', () => {
    const r = parseConfig(['--namespaces', 'apps, b,apps', '--listen=127.0.0.1:0', '--log-level=debug'], {
      FLAGOPS_LISTEN: '0.0.0.0:1',
      FLAGOPS_DEFAULT_NAMESPACE: 'apps',
      FLAGOPS_AUTH: 'none',
    });
    expect(r).toEqual({
      config: {
        ...DEFAULTS,
        namespaces: ['apps', 'b'],
        defaultNamespace: 'apps',
        listen: { host: '127.0.0.1', port: 0 },
        auth: 'none',
        logLevel: 'debug',
      },
    });
  });

  it.each([
    [['--nope'], 'unknown flag --nope'],
    [['--listen'], 'needs a value'],
    [['--listen=nope'], 'invalid --listen'],
    [['--listen=:70000'], 'invalid --listen'],
    [['--auth=basic'], 'invalid --auth'],
    [['--log-level=loud'], 'invalid --log-level'],
    [['--namespaces=Bad_NS'], 'invalid --namespaces'],
    [['--auth=none'], 'only listens on loopback'],
    [['positional'], 'unknown flag positional'],
    [['--max-body-bytes=12'], 'invalid --max-body-bytes'],
    [['--namespaces=a,b', '--default-namespace=c'], 'is not among --namespaces'],
    [['--tls-cert-file=/x'], 'go together'],
    [['--leader-elect=yes'], 'invalid --leader-elect'],
    [['--leader-election-lease-duration=5'], 'not a duration'],
    [
      ['--leader-elect', '--leader-election-lease-duration=5s'],
      'retry-period < renew-deadline < lease-duration',
    ],
    [['--argocd-application-mapping=label'], 'invalid --argocd-application-mapping'],
    [['--argocd-application-mapping=,'], 'invalid --argocd-application-mapping'],
    [['--argocd-application-namespaces=Bad'], 'invalid --argocd-application-namespaces'],
    [['--argocd-namespace=argocd', '--argocd-application-namespaces=team-a'], 'needs --argocd-namespace and'],
  ])('%j is refused: %s', (argv, message) => {
    const r = parseConfig(argv, {});
    expect('error' in r && r.error).toContain(message);
  });

  it('reads the Argo CD Application mapping', () => {
    const r = parseConfig(
      [
        '--argocd-namespace=argocd',
        '--argocd-application-mapping=annotation, name,annotation',
        '--argocd-application-namespaces=team-a,team-b',
      ],
      {},
    );
    expect(r).toEqual({
      config: {
        ...DEFAULTS,
        argocdNamespace: 'argocd',
        argocdApplicationMapping: ['annotation', 'name'],
        argocdApplicationNamespaces: ['team-a', 'team-b'],
      },
    });
  });

  it('reads durations', () => {
    const r = parseConfig(
      [
        '--leader-elect=true',
        '--leader-election-lease-duration=3s',
        '--leader-election-renew-deadline=2s',
        '--leader-election-retry-period=500ms',
      ],
      {},
    );
    expect('config' in r && r.config.leaderElection).toMatchObject({
      enabled: true,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 500,
    });
  });

  it('takes a bare boolean flag as true, and checks lease timings only when electing', () => {
    const bare = parseConfig(['--leader-elect', '--log-level=debug'], {});
    expect('config' in bare && bare.config.leaderElection.enabled).toBe(true);
    expect('config' in parseConfig(['--leader-election-lease-duration=5s'], {})).toBe(true);
  });

  it('defaults the default namespace to the first watched one', () => {
    const r = parseConfig(['--namespaces=team-a,team-b'], {});
    expect('config' in r && r.config.defaultNamespace).toBe('team-a');
  });

  it('allows --auth=none on loopback', () => {
    expect('config' in parseConfig(['--auth=none', '--listen=127.0.0.1:8080'], {})).toBe(true);
    expect('config' in parseConfig(['--auth=none', '--listen=[::1]:8080'], {})).toBe(true);
  });
});

describe('the command line', () => {
  it('takes a boolean flag with its value as the next argument, and -h or --help as help', () => {
    const r = parseConfig(['--leader-elect', 'false', '--configmap-projections'], {});
    expect('config' in r && [r.config.leaderElection.enabled, r.config.configMapProjections]).toEqual([
      false,
      true,
    ]);
    expect(parseConfig(['-h'], {})).toEqual({ help: true });
    expect(parseConfig(['--listen=127.0.0.1:1', '--help'], {})).toEqual({ help: true });
    expect(parseConfig(['-x'], {})).toEqual({ error: 'unknown flag -x' });
    expect(parseConfig(['--', 'a'], {})).toEqual({ error: 'unknown flag --' });
  });

  it('lets the last of a repeated flag win', () => {
    const r = parseConfig(['--log-level=debug', '--log-level', 'warn'], {});
    expect('config' in r && r.config.logLevel).toBe('warn');
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| `--([a-z-]+)` +\| `([A-Z_]+)` +\| ([^|]+)\|/gm)].map((m) => [
      m[1]!,
      { env: m[2]!, default: m[3]!.trim() },
    ]),
  );

  it('has a row for every flag, with its environment variable and default, and no other', () => {
    for (const f of flagTable()) {
      const row = rows.get(f.name);
      expect(row, f.name).toBeDefined();
      expect(row!.env, f.name).toBe(envName(f.name));
      if (f.default) expect(row!.default, f.name).toContain(`\`${f.default}\``);
      expect(usage()).toContain(`--${f.name} `);
    }
    expect([...rows.keys()].sort()).toEqual(
      flagTable()
        .map((f) => f.name)
        .sort(),
    );
  });
});
