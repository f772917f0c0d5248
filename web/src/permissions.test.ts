import { describe, expect, it } from 'vitest';
import { ROLES } from './adminModel';
import { currentHolder } from './leases';
import { canCommand, canForceLease, canPlan, canReadAnalytics } from './permissions';

const user = (role: string, groups: string[] = []) => ({ name: 'u', role, groups });

describe('permissions', () => {
  it('lets admins command anywhere and operators in their groups only', () => {
    expect(canCommand(user('admin'), 'east')).toBe(true);
    expect(canCommand(user('operator', ['east']), 'east')).toBe(true);
    expect(canCommand(user('operator', ['east']), 'west')).toBe(false);
    expect(canCommand(user('operator', ['east']), undefined)).toBe(false);
    expect(canCommand(user('viewer', ['east']), 'east')).toBe(false);
    expect(canCommand(user('analytics', ['east']), 'east')).toBe(false);
    expect(canCommand(null, 'east')).toBe(false);
  });

  it('lets only admins take a lease over', () => {
    expect(canForceLease(user('admin'))).toBe(true);
    expect(canForceLease(user('operator', ['east']))).toBe(false);
    expect(canForceLease(user('analytics', ['east']))).toBe(false);
    expect(canForceLease(null)).toBe(false);
  });

  it('lets admins and operators with a group plan missions and fences', () => {
    expect(canPlan(user('admin'))).toBe(true);
    expect(canPlan(user('operator', ['east']))).toBe(true);
    expect(canPlan(user('operator'))).toBe(false);
    expect(canPlan(user('viewer', ['east']))).toBe(false);
    expect(canPlan(user('analytics', ['east']))).toBe(false);
    expect(canPlan(null)).toBe(false);
  });

  it('lets admins, operators and analytics users read analytics, not viewers', () => {
    expect(canReadAnalytics(user('admin'))).toBe(true);
    expect(canReadAnalytics(user('operator', ['east']))).toBe(true);
    expect(canReadAnalytics(user('analytics', ['east']))).toBe(true);
    expect(canReadAnalytics(user('viewer', ['east']))).toBe(false);
    expect(canReadAnalytics(user(''))).toBe(false);
    expect(canReadAnalytics(null)).toBe(false);
    // The route table asks by role alone (RouteDef.allowed).
    expect(canReadAnalytics({ role: 'analytics' })).toBe(true);
  });

  it('treats an analytics user like a viewer for every control', () => {
    const a = user('analytics', ['east', 'west']);
    const v = user('viewer', ['east', 'west']);
    for (const g of ['east', 'west', 'north', undefined]) expect(canCommand(a, g)).toBe(canCommand(v, g));
    expect(canPlan(a)).toBe(canPlan(v));
    expect(canForceLease(a)).toBe(canForceLease(v));
  });

  it('offers every role in the admin screen', () => {
    expect([...ROLES].sort()).toEqual(['admin', 'analytics', 'operator', 'viewer']);
  });
});

describe('currentHolder', () => {
  it('is nobody once the lease ran out', () => {
    const lease = { drone_id: 'd', holder: 'alice', expires_at: 2000 };
    expect(currentHolder(lease, 1999)).toBe('alice');
    expect(currentHolder(lease, 2000)).toBeNull();
    expect(currentHolder({ drone_id: 'd', holder: null }, 0)).toBeNull();
    expect(currentHolder(undefined, 0)).toBeNull();
  });
});
