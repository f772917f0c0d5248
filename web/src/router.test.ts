import { describe, expect, it } from 'vitest';
import { href, matchRoute, type RouteDef } from './router';

const page = { layout: 'full' as const, mount() {}, unmount() {} };
const defs: RouteDef[] = [
  { path: 'fleet', create: () => page },
  { path: 'drone/:id', create: () => page },
  { path: 'admin/users', create: () => page },
];

describe('matchRoute', () => {
  it('opens the fleet for an empty hash', () => {
    expect(matchRoute(defs, '')?.def.path).toBe('fleet');
    expect(matchRoute(defs, '#/')?.def.path).toBe('fleet');
  });

  it('decodes parameters', () => {
    const m = matchRoute(defs, href('drone', 'sim 1/x'));
    expect(m?.def.path).toBe('drone/:id');
    expect(m?.params).toEqual({ id: 'sim 1/x' });
  });

  it('matches nested paths and ignores a trailing slash', () => {
    expect(matchRoute(defs, '#/admin/users/')?.def.path).toBe('admin/users');
  });

  it('matches nothing for unknown paths, empty parameters and bad escapes', () => {
    expect(matchRoute(defs, '#/nowhere')).toBeNull();
    expect(matchRoute(defs, '#/drone/')).toBeNull();
    expect(matchRoute(defs, '#/drone/%E0%A4%A')).toBeNull();
    expect(matchRoute(defs, '#/drone/a/b')).toBeNull();
  });
});
