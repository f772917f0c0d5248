import { describe, expect, it } from 'vitest';
import { CommandBook } from './commandModel';
import type { Command } from './types';

const cmd = (state: string, updated_at: number, extra: Partial<Command> = {}): Command => ({
  id: 'c1',
  drone_id: 'd1',
  kind: 'takeoff',
  state,
  final: ['succeeded', 'failed', 'rejected', 'expired', 'timed_out', 'cancelled'].includes(state),
  created_at: 100,
  updated_at,
  ...extra,
});

describe('CommandBook', () => {
  it('records the states a command went through', () => {
    const book = new CommandBook();
    book.apply(cmd('queued', 100));
    book.apply(cmd('sent', 110));
    book.apply(cmd('accepted', 120));
    book.apply(cmd('in_progress', 130, { progress: 40 }));
    book.apply(cmd('in_progress', 140, { progress: 80 }));
    book.apply(cmd('succeeded', 150));
    const [t] = book.forDrone('d1', 10);
    expect(t!.states).toEqual(['queued', 'sent', 'accepted', 'in_progress', 'succeeded']);
    expect(t!.command.final).toBe(true);
  });

  it('ignores news older than what it has (a POST answer after the frames)', () => {
    const book = new CommandBook();
    book.apply(cmd('sent', 110));
    book.apply(cmd('queued', 100));
    expect(book.forDrone('d1', 1)[0]!.command.state).toBe('sent');
  });

  it('never changes a final command', () => {
    const book = new CommandBook();
    book.apply(cmd('failed', 200, { reason: 'no GPS' }));
    const v = book.version;
    book.apply(cmd('in_progress', 300));
    expect(book.version).toBe(v);
    expect(book.forDrone('d1', 1)[0]!.command.reason).toBe('no GPS');
  });

  it('prefers the further state at the same instant', () => {
    const book = new CommandBook();
    book.apply(cmd('accepted', 100));
    book.apply(cmd('sent', 100));
    expect(book.forDrone('d1', 1)[0]!.command.state).toBe('accepted');
  });

  it('lists a drone’s commands newest first, bounded', () => {
    const book = new CommandBook();
    for (let i = 0; i < 5; i++) book.apply({ ...cmd('queued', i), id: `c${i}`, created_at: i });
    book.apply({ ...cmd('queued', 1), id: 'other', drone_id: 'd2' });
    expect(book.forDrone('d1', 3).map((t) => t.command.id)).toEqual(['c4', 'c3', 'c2']);
  });
});
