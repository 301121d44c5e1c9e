// The image CI assembles without a registry must be the one the Dockerfile describes: its runtime stage's user,
// environment, working directory, entrypoint, port and labels are read from the Dockerfile itself.
import { describe, expect, it } from 'vitest';
import { dockerfileRuntimeConfig } from './images.js';

describe('dockerfileRuntimeConfig', () => {
  it('reads the runtime stage of the project’s Dockerfile', () => {
    const c = dockerfileRuntimeConfig();
    expect(c.User).toBe('65532:65532');
    expect(c.WorkingDir).toBe('/app');
    expect(c.Entrypoint?.[0]).toBe('/usr/local/bin/node');
    expect(c.Entrypoint?.at(-1)).toBe('/app/dist/main.js');
    expect(c.Env).toContain('NODE_ENV=production');
    expect(c.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(c.Labels?.['org.opencontainers.image.title']).toBe('flagops-data-store');
  });

  it('takes only the last stage, continuation lines and quoted values included', () => {
    const c = dockerfileRuntimeConfig(`FROM a AS build
ENV NODE_ENV=development
USER 0
FROM b
# a comment
LABEL one="a b" \\
      two=c
ENV X=1 Y="two words"
USER 1000:1000
EXPOSE 9000 53/udp
ENTRYPOINT ["/bin/x", "--flag"]
`);
    expect(c.User).toBe('1000:1000');
    expect(c.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'X=1',
      'Y=two words',
    ]);
    expect(c.Labels).toEqual({ one: 'a b', two: 'c' });
    expect(c.ExposedPorts).toEqual({ '9000/tcp': {}, '53/udp': {} });
    expect(c.Entrypoint).toEqual(['/bin/x', '--flag']);
  });
});
