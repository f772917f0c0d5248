// The operator socket (/ws/operator, docs/protocol.md "Operator protocol"): a fresh single-use ticket before every
// connect, the renewed access token handed to the open socket, close codes, reconnects with backoff, and the frames
// turned into store changes and events. web/README.md, "WebSocket tickets and close codes", is the contract.
import type { Api } from './api';
import type { Session } from './auth';
import { backoffDelay } from './backoff';
import { describeError, SessionEndedError } from './errors';
import { Emitter } from './events';
import type { NoticeLevel } from './notices';
import type { RxStats } from './stats';
import type { DroneStore } from './store';
import type { Alarm, Command, ControlFrame, MissionFrame } from './types';

const WS_PATH = '/ws/operator';

export type ConnPhase = 'idle' | 'connecting' | 'live' | 'reconnecting';

export interface ConnState {
  phase: ConnPhase;
  text: string;
  title: string;
}

const CLOSE_REASONS: Record<number, string> = {
  1000: 'normal close',
  1001: 'the node is shutting down',
  1006: 'connection lost or node unreachable',
  1008: 'policy violation',
  1009: 'frame too large',
  1011: 'node internal error',
  1013: 'try again later',
  4001: 'authentication ended',
};

/** ws(s)://host/ws/operator, without the ticket: what the page shows; the ticket is added only to open the socket. */
function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${WS_PATH}`;
}

export class LiveConnection {
  readonly stateChanged = new Emitter<ConnState>();
  /** A snapshot arrived: the connection is live (again). */
  readonly live = new Emitter();
  readonly commands = new Emitter<Command>();
  readonly controls = new Emitter<ControlFrame>();
  readonly alarms = new Emitter<Alarm>();
  readonly missions = new Emitter<MissionFrame>();
  /** Something for the notice bar; topic "connection" notices are cleared once live again. */
  readonly trouble = new Emitter<{ text: string; level: NoticeLevel; topic: 'connection' | 'node' }>();

  private ws: WebSocket | null = null;
  private attempt = 0;
  private everLive = false;
  private reconnectTimer = 0;
  private reconnectAt = 0;
  private connectSeq = 0; // each connect() attempt; an older attempt still waiting for its ticket gives up
  private renewFirst = false; // the node closed with 4001: renew the tokens before the next ticket
  private state: ConnState = { phase: 'idle', text: 'offline', title: '' };

  constructor(
    private readonly session: Session,
    private readonly api: Api,
    private readonly store: DroneStore,
    private readonly stats: RxStats,
  ) {}

  get phase(): ConnPhase {
    return this.state.phase;
  }

  /** Opens the socket for the current session (after login, or after a reload restored the session). */
  start(): void {
    this.stop();
    this.attempt = 0;
    this.everLive = false;
    this.connect();
  }

  /** Closes the socket and forgets any reconnect (the session ended). */
  stop(): void {
    this.connectSeq++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = 0;
    this.renewFirst = false;
    const sock = this.ws;
    this.ws = null;
    if (sock) {
      try {
        sock.close(1000, 'logged out');
      } catch {
        // already closing
      }
    }
    this.setState('idle', 'offline', '');
  }

  /**
   * The open socket lives as long as the token it was opened with: hand it each new one so it goes on without a
   * reconnect and a new snapshot (docs/protocol.md, the "auth" frame).
   */
  sendAuth(token: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'auth', token }));
  }

  /** Once a second: the reconnect countdown. */
  tick(): void {
    if (!this.reconnectTimer) return;
    const s = Math.max(0, Math.ceil((this.reconnectAt - Date.now()) / 1000));
    this.setState('reconnecting', `reconnecting in ${s}s`, `attempt ${this.attempt}, WebSocket ${socketUrl()}`);
  }

  /** The browser is online again or the tab became visible: skip the rest of the backoff. */
  reconnectNow(): void {
    if (!this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  private connect(): void {
    this.reconnectTimer = 0;
    if (!this.session.loggedIn) return;
    void this.open(++this.connectSeq, this.session.current);
  }

  // Every connect and reconnect: (renew the tokens if needed) → POST /auth/ticket → /ws/operator?ticket=…
  private async open(seq: number, generation: number): Promise<void> {
    const current = (): boolean => seq === this.connectSeq && generation === this.session.current;
    if (this.everLive) this.setState('reconnecting', 'reconnecting…');
    else this.setState('connecting', this.session.accessToken ? 'connecting' : 'signing in…');
    let ticket: string;
    try {
      if (this.renewFirst) {
        await this.session.refresh();
        this.renewFirst = false;
      }
      const answer = await this.api.ticket();
      if (typeof answer?.ticket !== 'string' || !answer.ticket) throw new Error('the node answered the ticket request without a ticket');
      ticket = answer.ticket;
    } catch (e) {
      if (!current() || e instanceof SessionEndedError) return;
      this.trouble.emit({ text: `cannot connect: ${describeError(e)}`, level: 'error', topic: 'connection' });
      this.scheduleReconnect();
      return;
    }
    if (!current()) return;
    let sock: WebSocket;
    try {
      sock = new WebSocket(`${socketUrl()}?ticket=${encodeURIComponent(ticket)}`);
    } catch (e) {
      this.trouble.emit({ text: `cannot open ${socketUrl()}: ${describeError(e)}`, level: 'error', topic: 'connection' });
      this.scheduleReconnect();
      return;
    }
    this.ws = sock;
    let opened = false;
    sock.onopen = () => {
      if (this.ws !== sock) return;
      opened = true;
      sock.send(JSON.stringify({ type: 'subscribe', drones: '*' }));
    };
    sock.onmessage = (ev: MessageEvent) => {
      if (this.ws === sock) this.onFrame(ev.data);
    };
    sock.onclose = (ev: CloseEvent) => {
      if (this.ws !== sock) return;
      this.ws = null;
      if (ev.code === 4001) {
        // Token expired, logged out elsewhere, user disabled or changed: renew, then reconnect with a new ticket (if
        // the renewal is refused, the login form is shown). Routine, so no notice.
        this.renewFirst = true;
      } else if (!opened) {
        // A refused upgrade (HTTP 401 for a bad ticket, 403 for a foreign origin) looks like any failed connection.
        this.trouble.emit({
          text: 'the WebSocket did not open (ticket refused or node unreachable); retrying with a new ticket',
          level: 'error',
          topic: 'connection',
        });
      } else {
        const why = CLOSE_REASONS[ev.code] ?? 'closed';
        this.trouble.emit({
          text: `connection closed (${ev.code} ${why}${ev.reason ? `: ${ev.reason}` : ''})`,
          level: 'error',
          topic: 'connection',
        });
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt, Math.random());
    this.attempt++;
    this.reconnectAt = Date.now() + delay;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
    this.tick();
  }

  private setState(phase: ConnPhase, text: string, title = `WebSocket ${socketUrl()}`): void {
    if (this.state.phase === phase && this.state.text === text && this.state.title === title) return;
    this.state = { phase, text, title };
    this.stateChanged.emit(this.state);
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return; // the protocol uses text frames only
    const now = Date.now();
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!parsed || typeof parsed !== 'object') return;
      msg = parsed as Record<string, unknown>;
    } catch {
      this.trouble.emit({ text: 'the node sent a frame that is not JSON', level: 'warning', topic: 'node' });
      return;
    }
    this.store.noteServerTime(msg.server_time, now);
    switch (msg.type) {
      case 'snapshot':
        this.store.snapshot(Array.isArray(msg.drones) ? msg.drones : [], now);
        this.attempt = 0; // the backoff starts again from its minimum
        this.everLive = true;
        this.setState('live', 'live');
        this.live.emit();
        break;
      case 'update':
        if (!Array.isArray(msg.drones)) return;
        this.store.update(msg.drones, now, this.stats.wantsLatencies ? this.stats.latencies : undefined);
        this.stats.frame(msg.drones.length);
        break;
      case 'status':
        if (Array.isArray(msg.events)) this.store.status(msg.events);
        break;
      case 'remove':
        if (Array.isArray(msg.drones)) this.store.remove(msg.drones);
        break;
      case 'command':
        if (isObject(msg.command) && typeof msg.command.id === 'string') this.commands.emit(msg.command as unknown as Command);
        break;
      case 'control':
        if (typeof msg.drone_id === 'string') this.controls.emit(msg as unknown as ControlFrame);
        break;
      case 'alarm':
        if (typeof msg.id === 'string' && typeof msg.drone_id === 'string') this.alarms.emit(msg as unknown as Alarm);
        break;
      case 'mission':
        if (typeof msg.mission_id === 'string' && isObject(msg.drone)) this.missions.emit(msg as unknown as MissionFrame);
        break;
      case 'error':
        this.trouble.emit({
          text: `node error${typeof msg.code === 'string' ? ` [${msg.code}]` : ''}: ${typeof msg.message === 'string' ? msg.message : ''}`,
          level: 'warning',
          topic: 'node',
        });
        break;
      default:
        break; // unknown frame types (authenticated, newer ones) are ignored: forward compatibility
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object';
}
