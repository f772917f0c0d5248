// Commands as the node reports them (`command` frames, POST answers, GET history): the newest state of each, and
// the states it was seen in, so the panel shows queued → sent → accepted → … → final with the reason.
import { Emitter } from './events';
import { DASH } from './format';
import type { Command, CommandKind } from './types';

/** Commands kept at most; beyond it the oldest final ones are forgotten (frames come for every drone one sees). */
const MAX_COMMANDS = 2000;

const RANK: Record<string, number> = { queued: 0, sent: 1, accepted: 2, in_progress: 3 };
const FINAL_RANK = 4;

function rank(c: Command): number {
  return c.final ? FINAL_RANK : (RANK[c.state] ?? 0);
}

export interface TrackedCommand {
  command: Command;
  /** The states seen, oldest first, without repeats (a command's history may start late: after a reload). */
  states: string[];
}

/** Whether `next` is news about the command `old` describes: newer, or as new and further along. */
function isNewer(old: Command, next: Command): boolean {
  if (old.final) return false; // a final state never changes (docs/protocol.md, "Commands (REST)")
  if (next.updated_at !== old.updated_at) return next.updated_at > old.updated_at;
  return rank(next) >= rank(old);
}

export class CommandBook {
  private readonly byId = new Map<string, TrackedCommand>();
  version = 0;
  readonly changed = new Emitter();

  apply(c: Command): void {
    const old = this.byId.get(c.id);
    if (old) {
      if (!isNewer(old.command, c)) return;
      old.command = c;
      if (old.states[old.states.length - 1] !== c.state) old.states.push(c.state);
    } else {
      this.byId.set(c.id, { command: c, states: [c.state] });
      if (this.byId.size > MAX_COMMANDS) this.evict();
    }
    this.version++;
    this.changed.emit();
  }

  /** The drone's commands, newest first. */
  forDrone(droneId: string, limit: number): TrackedCommand[] {
    const out: TrackedCommand[] = [];
    for (const t of this.byId.values()) if (t.command.drone_id === droneId) out.push(t);
    out.sort((a, b) => b.command.created_at - a.command.created_at);
    return out.slice(0, limit);
  }

  clear(): void {
    this.byId.clear();
    this.version++;
    this.changed.emit();
  }

  private evict(): void {
    const finals = [...this.byId.values()].filter((t) => t.command.final);
    finals.sort((a, b) => a.command.updated_at - b.command.updated_at);
    const excess = this.byId.size - Math.floor(MAX_COMMANDS * 0.9);
    for (const t of finals.slice(0, Math.max(0, excess))) this.byId.delete(t.command.id);
  }
}

// ---- which commands the panel offers (docs/protocol.md: the drone object's `commands`)

/** Every command kind of the protocol, in its order ("Commands"). */
export const COMMAND_KINDS: readonly CommandKind[] = [
  'arm',
  'disarm',
  'takeoff',
  'land',
  'rtl',
  'goto',
  'hold',
  'resume',
  'set_mode',
  'set_speed',
  'mission_start',
];

/**
 * Whether the panel offers `kind` for a drone whose object says `commands`: an array lists the kinds the drone's
 * hello named (only those are offered, an empty one none); `null` (the hello named none) or no field at all (a node
 * that does not send it, a drone not read yet) offers every kind, as a panel without the list did. Anything else in
 * the field (a frame is data from the network) is taken as no list.
 */
export function offersCommand(commands: unknown, kind: CommandKind): boolean {
  if (!Array.isArray(commands)) return true;
  return commands.includes(kind);
}

/** The kinds the drone's object lists, known ones only and in protocol order; null when it lists none (every kind is offered). */
export function listedCommands(commands: unknown): CommandKind[] | null {
  if (!Array.isArray(commands)) return null;
  return COMMAND_KINDS.filter((k) => commands.includes(k));
}

/** The drone's command kinds as the detail shows them: "arm, land", "none", or that it lists none (every one offered). */
export function commandKindsText(commands: unknown): string {
  const listed = listedCommands(commands);
  if (listed === null) return commands === null ? 'not listed by the drone (all offered)' : DASH;
  return listed.length ? listed.join(', ') : 'none';
}
