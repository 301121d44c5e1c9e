import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'scripts/**/*.test.ts',
            'test/argocd/render.test.ts',
            'test/cluster/images.test.ts',
            'test/cluster/preflight.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/argocd/**', 'test/cluster/**', 'test/flux/**'],
          environment: 'node',
          globalSetup: ['test/control-plane/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One control plane serves every file; files still run in parallel, each in its own namespaces.
          fileParallelism: true,
        },
      },
      {
        test: {
          // The GitOps journey against a real Argo CD (test/argocd/), on a control plane of its own.
          name: 'argocd',
          include: ['test/argocd/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/argocd/render.test.ts'],
          environment: 'node',
          globalSetup: ['test/argocd/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          // ConfigMap projections with a real Flux (test/flux/), on a control plane of its own.
          name: 'flux',
          include: ['test/flux/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/flux/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          // The operator as pods on a real one-node cluster (test/cluster/): its image, the chart, deploy/.
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            'test/cluster/images.test.ts',
            'test/cluster/preflight.test.ts',
          ],
          environment: 'node',
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One node: its tests install and upgrade releases in turn.
          fileParallelism: false,
        },
      },
    ],
  },
});
