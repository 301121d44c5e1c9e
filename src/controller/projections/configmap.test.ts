import { describe, expect, it } from 'vitest';
import {
  canProject,
  dataKey,
  desiredConfigMap,
  isProjectionOf,
  PROJECTION_LABEL,
  projectedData,
  staleLabels,
} from './configmap.js';

const FLUX_VAR = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

describe('projected ConfigMap', () => {
  it.each([
    ['tier', 'tier'],
    ['max-replicas', 'max_replicas'],
    ['a.b-c', 'a_b_c'],
    ['1st', '_1st'],
    ['Region_EU', 'Region_EU'],
  ])('fact %s → key %s, a valid Flux variable name', (fact, key) => {
    expect(dataKey(fact)).toBe(key);
    expect(key).toMatch(FLUX_VAR);
  });

  it('holds every fact as a string; the first name wins a key collision, and it is reported', () => {
    const p = projectedData({ tier: 'gold', 'max-replicas': 5, max_replicas: 7, big: 9007199254740991 });
    expect(p.data).toEqual({ tier: 'gold', max_replicas: '5', big: '9007199254740991' });
    for (const v of Object.values(p.data)) expect(typeof v).toBe('string');
    expect(p.collisions).toEqual([{ fact: 'max_replicas', key: 'max_replicas', with: 'max-replicas' }]);
  });

  it('is owned by its DeploymentFacts and labelled for Flux', () => {
    const cm = desiredConfigMap({ name: 'c-1', namespace: 'ns', uid: 'u-1' }, { tier: 'gold' });
    expect(cm.metadata.name).toBe('flagops-facts-c-1');
    // kustomize-controller's default --watch-configs-label-selector; the label of earlier versions is gone.
    expect(cm.metadata.labels['reconcile.fluxcd.io/watch']).toBe('Enabled');
    expect(cm.metadata.labels).not.toHaveProperty('toolkit.fluxcd.io/watch');
    expect(staleLabels(cm.metadata.labels)).toEqual([]);
    expect(cm.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'flagops.io/v1alpha1',
        kind: 'DeploymentFacts',
        name: 'c-1',
        uid: 'u-1',
        controller: true,
      },
    ]);
    expect(isProjectionOf(cm, 'u-1')).toBe(true);
    expect(isProjectionOf(cm, 'u-2')).toBe(false);
    expect(isProjectionOf({ metadata: {} }, 'u-1')).toBe(false);
  });

  it('is ours only with the projection label and an ownerReference to the owner uid', () => {
    const ours = desiredConfigMap({ name: 'c-1', namespace: 'ns', uid: 'u-1' }, {});
    const { [PROJECTION_LABEL]: _, ...otherLabels } = ours.metadata.labels;
    expect(isProjectionOf({ metadata: { ...ours.metadata, labels: otherLabels } }, 'u-1')).toBe(false);
    const sameName = { ...ours.metadata.ownerReferences[0]!, uid: 'someone-elses' };
    expect(isProjectionOf({ metadata: { ...ours.metadata, ownerReferences: [sameName] } }, 'u-1')).toBe(
      false,
    );
    const notController = { ...ours.metadata.ownerReferences[0]!, controller: false };
    expect(isProjectionOf({ metadata: { ...ours.metadata, ownerReferences: [notController] } }, 'u-1')).toBe(
      false,
    );
  });

  it('names the labels of earlier versions that a projection still carries', () => {
    expect(staleLabels(undefined)).toEqual([]);
    expect(staleLabels({ 'toolkit.fluxcd.io/watch': 'Enabled', 'flagops.io/projection': 'facts' })).toEqual([
      'toolkit.fluxcd.io/watch',
    ]);
  });

  it('refuses names that would be too long', () => {
    expect(canProject('a'.repeat(239))).toBe(true);
    expect(canProject('a'.repeat(240))).toBe(false);
  });
});
