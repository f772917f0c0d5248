import { describe, expect, it } from 'vitest';
import { closeRing, fenceBody, fenceForm, openRing, polygonProblem, type LatLon } from './fenceModel';

const square: LatLon[] = [
  [47, 8],
  [47, 8.01],
  [47.01, 8.01],
  [47.01, 8],
];
const form = { name: ' yard ', group: 'east', kind: 'exclusion', floor: '', ceiling: '120', action: 'rtl' };

describe('polygon closing', () => {
  it('closes into [lon, lat] and opens again', () => {
    const ring = closeRing(square);
    expect(ring.length).toBe(5);
    expect(ring[0]).toEqual([8, 47]);
    expect(ring[4]).toEqual(ring[0]);
    expect(openRing(ring)).toEqual(square);
  });
  it('an empty list closes to nothing', () => {
    expect(closeRing([])).toEqual([]);
  });
});

describe('polygon checks', () => {
  it('takes a square', () => expect(polygonProblem(square)).toBeNull());
  it('needs 3 points', () => expect(polygonProblem(square.slice(0, 2))).toMatch(/at least 3/));
  it('refuses a repeated point', () => expect(polygonProblem([square[0]!, square[0]!, square[1]!])).toMatch(/same/));
  it('refuses no area', () => expect(polygonProblem([[0, 0], [0, 1], [0, 2]])).toMatch(/no area/));
  it('refuses a bow tie', () => {
    expect(polygonProblem([square[0]!, square[2]!, square[1]!, square[3]!])).toMatch(/cross/);
  });
  it('refuses off-map points', () => expect(polygonProblem([[95, 0], [0, 1], [1, 1]])).toMatch(/off the map/));
});

describe('form → body', () => {
  it('builds the body, empty floor as null', () => {
    const r = fenceBody(form, square);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toMatchObject({ name: 'yard', group: 'east', kind: 'exclusion', floor: null, ceiling: 120, action: 'rtl' });
    expect(r.body.polygon.coordinates[0]!.length).toBe(5);
  });
  it('names the first problem', () => {
    expect(fenceBody({ ...form, name: '' }, square)).toMatchObject({ ok: false, field: 'name' });
    expect(fenceBody({ ...form, kind: 'x' }, square)).toMatchObject({ ok: false, field: 'kind' });
    expect(fenceBody({ ...form, action: 'x' }, square)).toMatchObject({ ok: false, field: 'action' });
    expect(fenceBody({ ...form, floor: 'abc' }, square)).toMatchObject({ ok: false, field: 'floor' });
    expect(fenceBody({ ...form, floor: '200' }, square)).toMatchObject({ ok: false, field: 'ceiling' });
    expect(fenceBody({ ...form, ceiling: '30000' }, square)).toMatchObject({ ok: false, field: 'ceiling' });
    expect(fenceBody(form, square.slice(0, 2))).toMatchObject({ ok: false, field: 'polygon' });
  });
  it('form of a fence', () => {
    expect(fenceForm({ id: '1', name: 'a', group: 'g', kind: 'inclusion', polygon: { type: 'Polygon', coordinates: [] }, floor: 10, ceiling: null, action: 'land' }, 'default')).toEqual({
      name: 'a', group: 'g', kind: 'inclusion', floor: '10', ceiling: '', action: 'land',
    });
    expect(fenceForm(null, 'default')).toMatchObject({ group: 'default', kind: 'exclusion', action: 'alert' });
  });
});
