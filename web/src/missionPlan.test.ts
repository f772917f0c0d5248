import { describe, expect, it } from 'vitest';
import {
  addWaypoint,
  allowedActions,
  fromItems,
  insertWaypoint,
  legLengths,
  liveProgress,
  missionBody,
  moveWaypoint,
  newWaypoint,
  problemsByIndex,
  progressText,
  relocateWaypoint,
  removeWaypoint,
  toItems,
  updateWaypoint,
  type Waypoint,
} from './missionPlan';
import type { MissionFrame } from './types';

const wp = (lat: number, lon: number, alt = 60): Waypoint => ({ lat, lon, alt, speed: null, hold_s: 0, action: 'none' });

describe('waypoint list edits', () => {
  it('adds with the last altitude, rounds the click', () => {
    let l: Waypoint[] = [];
    l = addWaypoint(l, newWaypoint(l, 50.123456789, 10.1, 100));
    expect(l[0]).toEqual({ lat: 50.1234568, lon: 10.1, alt: 100, speed: null, hold_s: 0, action: 'none' });
    l = updateWaypoint(l, 0, { alt: 70 });
    l = addWaypoint(l, newWaypoint(l, 50.2, 10.2, 100));
    expect(l[1]!.alt).toBe(70);
  });
  it('moves, removes, inserts, relocates without changing the input', () => {
    const l = [wp(1, 1), wp(2, 2), wp(3, 3)];
    expect(moveWaypoint(l, 2, -1).map((w) => w.lat)).toEqual([1, 3, 2]);
    expect(moveWaypoint(l, 0, -1).map((w) => w.lat)).toEqual([1, 2, 3]);
    expect(moveWaypoint(l, 2, 1).map((w) => w.lat)).toEqual([1, 2, 3]);
    expect(removeWaypoint(l, 1).map((w) => w.lat)).toEqual([1, 3]);
    expect(insertWaypoint(l, 0, wp(9, 9)).map((w) => w.lat)).toEqual([1, 9, 2, 3]);
    expect(relocateWaypoint(l, 1, 5.123456789, 6)[1]).toMatchObject({ lat: 5.1234568, lon: 6 });
    expect(l.map((w) => w.lat)).toEqual([1, 2, 3]);
  });
  it('items round trip: defaults left out', () => {
    const l = [wp(1, 2), { ...wp(3, 4), speed: 8, hold_s: 5, action: 'photo' as const }];
    const items = toItems(l);
    expect(items).toEqual([{ lat: 1, lon: 2, alt: 60 }, { lat: 3, lon: 4, alt: 60, speed: 8, hold_s: 5, action: 'photo' }]);
    expect(fromItems(items)).toEqual(l);
  });
  it('leg lengths', () => {
    const legs = legLengths([wp(0, 0), wp(0, 0.001)]);
    expect(legs[0]).toBe(0);
    expect(legs[1]).toBeCloseTo(111.2, 0);
  });
});

describe('form → body', () => {
  const form = { name: ' survey ', group: 'east', cruiseSpeed: '12', finalAction: 'land' };
  it('builds the body', () => {
    const r = missionBody(form, [wp(1, 2)]);
    expect(r).toEqual({ ok: true, body: { name: 'survey', group: 'east', items: [{ lat: 1, lon: 2, alt: 60 }], final_action: 'land', cruise_speed: 12 } });
  });
  it('empty cruise speed is the default 10', () => {
    const r = missionBody({ ...form, cruiseSpeed: '' }, [wp(1, 2)]);
    expect(r.ok && r.body.cruise_speed).toBe(10);
  });
  it('names the first problem', () => {
    expect(missionBody({ ...form, name: ' ' }, [wp(1, 2)])).toMatchObject({ ok: false, field: 'name' });
    expect(missionBody({ ...form, group: '' }, [wp(1, 2)])).toMatchObject({ ok: false, field: 'group' });
    expect(missionBody({ ...form, cruiseSpeed: 'x' }, [wp(1, 2)])).toMatchObject({ ok: false, field: 'cruise_speed' });
    expect(missionBody({ ...form, finalAction: 'fly' }, [wp(1, 2)])).toMatchObject({ ok: false, field: 'final_action' });
    expect(missionBody(form, [])).toMatchObject({ ok: false, field: 'items' });
    expect(missionBody(form, [wp(1, 2), { ...wp(1, 2), alt: NaN }])).toMatchObject({ ok: false, field: 'items[1].alt' });
    expect(missionBody(form, [{ ...wp(1, 2), speed: NaN }])).toMatchObject({ ok: false, field: 'items[0].speed' });
  });
});

describe('problems and progress', () => {
  it('groups problems by index, the mission as a whole under -1', () => {
    const m = problemsByIndex([
      { index: 2, field: 'items[2].alt', reason: 'too high' },
      { index: null, field: 'items', reason: 'battery' },
      { index: 2, field: 'items[2]', reason: 'fence' },
    ]);
    expect(m.get(2)!.length).toBe(2);
    expect(m.get(-1)![0]!.reason).toBe('battery');
  });
  it('merges frames of this mission only', () => {
    const m = { id: 'm1', state: 'ready', drones: [{ drone_id: 'a', state: 'ready', current_seq: null, reached: [], reason: '' }, { drone_id: 'b', state: 'ready', current_seq: null, reached: [] }] };
    const frames: Record<string, MissionFrame> = {
      a: { type: 'mission', mission_id: 'm1', state: 'active', drone: { drone_id: 'a', state: 'active', current_seq: 1, reached: [{ seq: 0, at: 5 }] }, received: 10 },
      b: { type: 'mission', mission_id: 'other', state: 'completed', drone: { drone_id: 'b', state: 'completed', current_seq: 4 }, received: 20 },
    };
    const p = liveProgress(m, (id) => frames[id], 0);
    expect(p.state).toBe('active');
    expect(p.drones[0]).toMatchObject({ state: 'active', current_seq: 1 });
    expect(p.drones[1]).toMatchObject({ state: 'ready', current_seq: null });
    expect(progressText(p.drones[0]!, 3)).toBe('item 2/3 · reached 1');
    // a frame older than the read keeps the read state
    expect(liveProgress(m, (id) => frames[id], 50).state).toBe('ready');
  });
  it('offers the actions of the state', () => {
    expect(allowedActions('validated', 1)).toMatchObject({ upload: true, start: false, edit: true });
    expect(allowedActions('validated', 0).upload).toBe(false);
    expect(allowedActions('ready', 1)).toMatchObject({ start: true, abort: true });
    expect(allowedActions('active', 1)).toMatchObject({ pause: true, abort: true, edit: false });
    expect(allowedActions('paused', 1)).toMatchObject({ resume: true });
  });
});
