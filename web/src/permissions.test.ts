import { describe, expect, it } from 'vitest';
import { currentHolder } from './leases';
import { canCommand, canForceLease } from './permissions';

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
