import { describe, expect, it } from 'vitest';
import { FrameLoop } from './frame';

describe('FrameLoop', () => {
  it('runs each view once per frame however many changes asked for one', () => {
    const pending: (() => void)[] = [];
    const errors: unknown[] = [];
    const loop = new FrameLoop((e) => errors.push(e), (fn) => pending.push(fn));
    let runs = 0;
    loop.add(() => runs++);
    for (let i = 0; i < 1000; i++) loop.request();
    expect(pending).toHaveLength(1);
    pending.shift()!();
    expect(runs).toBe(1);
    loop.request();
    expect(pending).toHaveLength(1);
  });

  it('keeps drawing the other views when one throws', () => {
    const pending: (() => void)[] = [];
    const errors: unknown[] = [];
    const loop = new FrameLoop((e) => errors.push(e), (fn) => pending.push(fn));
    let ok = 0;
    loop.add(() => {
      throw new Error('broken view');
    });
    loop.add(() => ok++);
    pending.shift()!();
    expect(ok).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('stops calling a removed view', () => {
    const pending: (() => void)[] = [];
    const loop = new FrameLoop(() => {}, (fn) => pending.push(fn));
    let runs = 0;
    const remove = loop.add(() => runs++);
    remove();
    pending.shift()!();
    expect(runs).toBe(0);
  });
});
