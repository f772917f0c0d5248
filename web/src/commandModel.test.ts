import { describe, expect, it } from 'vitest';
import { CommandBook, COMMAND_KINDS, commandKindsText, listedCommands, offersCommand } from './commandModel';
import { DASH } from './format';
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

describe('the kinds the command panel offers', () => {
  it('offers only the kinds a listing drone names', () => {
    const listed = ['arm', 'land'];
    expect(offersCommand(listed, 'arm')).toBe(true);
    expect(offersCommand(listed, 'land')).toBe(true);
    for (const k of ['disarm', 'takeoff', 'rtl', 'goto', 'hold', 'resume'] as const) expect(offersCommand(listed, k)).toBe(false);
  });

  it('offers every kind when the drone lists none (null) or the object has no list', () => {
    for (const k of COMMAND_KINDS) {
      expect(offersCommand(null, k)).toBe(true);
      expect(offersCommand(undefined, k)).toBe(true);
      expect(offersCommand('arm', k)).toBe(true); // not an array: no list
    }
  });

  it('offers nothing for an empty list', () => {
    for (const k of COMMAND_KINDS) expect(offersCommand([], k)).toBe(false);
  });

  it('lists the known kinds in protocol order', () => {
    expect(listedCommands(['land', 'flip', 'arm', 'goto'])).toEqual(['arm', 'land', 'goto']);
    expect(listedCommands(null)).toBeNull();
    expect(listedCommands(undefined)).toBeNull();
    expect(listedCommands([])).toEqual([]);
  });

  it('words the list for the detail', () => {
    expect(commandKindsText(['arm', 'land'])).toBe('arm, land');
    expect(commandKindsText([])).toBe('none');
    expect(commandKindsText(null)).toBe('not listed by the drone (all offered)');
    expect(commandKindsText(undefined)).toBe(DASH);
  });
});
