import { describe, expect, it } from 'vitest';
import { auditQuery, newUserBody, parseGroups, registerBody, userChange } from './adminModel';

const empty = { actor: '', action: '', drone: '', outcome: '', from: '', to: '', limit: 100 };

describe('audit filter → query', () => {
  it('leaves out empty fields', () => expect(auditQuery(empty)).toBe('?limit=100'));
  it('puts every field, times as ms, and the page', () => {
    const q = new URLSearchParams(auditQuery({ ...empty, actor: ' admin ', action: 'login', drone: 'd 1', outcome: 'refused', from: '2026-12-01T10:00', to: '2026-12-01T11:00', limit: 50 }, 90).slice(1));
    expect(q.get('actor')).toBe('admin');
    expect(q.get('drone')).toBe('d 1');
    expect(q.get('outcome')).toBe('refused');
    expect(Number(q.get('to')) - Number(q.get('from'))).toBe(3_600_000);
    expect(q.get('from')).toBe(String(new Date('2026-12-01T10:00').getTime()));
    expect(q.get('limit')).toBe('50');
    expect(q.get('before')).toBe('90');
  });
  it('clamps the limit and refuses bad ranges', () => {
    expect(auditQuery({ ...empty, limit: 5000 })).toBe('?limit=1000');
    expect(() => auditQuery({ ...empty, from: '2026-12-01T11:00', to: '2026-12-01T10:00' })).toThrow(/before/);
    expect(() => auditQuery({ ...empty, from: 'nonsense' })).toThrow(/not a date/);
  });
});

describe('user forms', () => {
  it('parses groups', () => expect(parseGroups(' a, b  c,a ')).toEqual(['a', 'b', 'c']));
  it('new user body', () => {
    expect(newUserBody({ name: ' bob ', password: 'pw', role: 'operator', groups: 'east, west' })).toEqual({
      ok: true,
      body: { name: 'bob', password: 'pw', role: 'operator', groups: ['east', 'west'] },
    });
    expect(newUserBody({ name: '', password: 'pw', role: 'operator', groups: '' })).toMatchObject({ ok: false, field: 'name' });
    expect(newUserBody({ name: 'b', password: '', role: 'operator', groups: '' })).toMatchObject({ ok: false, field: 'password' });
    expect(newUserBody({ name: 'b', password: 'p', role: 'root', groups: '' })).toMatchObject({ ok: false, field: 'role' });
    expect(newUserBody({ name: 'b', password: 'p', role: 'analytics', groups: 'east' })).toEqual({
      ok: true,
      body: { name: 'b', password: 'p', role: 'analytics', groups: ['east'] },
    });
    expect(newUserBody({ name: 'b', password: 'p', role: 'viewer', groups: 'a/b' })).toMatchObject({ ok: false, field: 'groups' });
  });
  it('change has only what changed', () => {
    const u = { role: 'operator', groups: ['east'] };
    expect(userChange(u, 'operator', 'east')).toBeNull();
    expect(userChange(u, 'viewer', 'east')).toEqual({ ok: true, body: { role: 'viewer' } });
    expect(userChange(u, 'operator', 'east west')).toEqual({ ok: true, body: { groups: ['east', 'west'] } });
    expect(userChange(u, 'operator', '')).toEqual({ ok: true, body: { groups: [] } });
  });
});

describe('registration body', () => {
  it('takes the id and what is filled in', () => {
    expect(registerBody({ id: ' d-1 ', name: 'Alpha', group: '', model: '', firmware: '' })).toEqual({ ok: true, body: { id: 'd-1', name: 'Alpha' } });
    expect(registerBody({ id: 'd1', name: '', group: 'east', model: 'X8', firmware: '1.0' })).toEqual({
      ok: true,
      body: { id: 'd1', group: 'east', model: 'X8', firmware: '1.0' },
    });
  });
  it('refuses bad ids and groups', () => {
    expect(registerBody({ id: '..', name: '', group: '', model: '', firmware: '' })).toMatchObject({ ok: false, field: 'id' });
    expect(registerBody({ id: 'a b', name: '', group: '', model: '', firmware: '' })).toMatchObject({ ok: false, field: 'id' });
    expect(registerBody({ id: 'ok', name: '', group: 'a b', model: '', firmware: '' })).toMatchObject({ ok: false, field: 'group' });
  });
});
