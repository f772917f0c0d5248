// The control lease of the drone detail (docs/protocol.md, "Control"): who holds it, from GET /control and `control`
// frames; take, renew and release it; admins take it over with force. Everyone sees who holds it; the buttons are
// there only for those who may command the drone.
import type { AppContext } from './context';
import { button, h, setText } from './dom';
import { describeError, SessionEndedError } from './errors';
import * as fmt from './format';
import { isNum } from './format';
import { currentHolder } from './leases';
import { canCommand, canForceLease } from './permissions';

export class LeasePanel {
  readonly root: HTMLElement;
  private readonly holder = h('span', { testid: 'lease-holder' });
  private readonly take = button('Take control', { testid: 'lease-take', title: 'only you command this drone until you release it or the lease runs out' }, () =>
    this.act(() => this.ctx.api.takeLease(this.id, false)),
  );
  private readonly takeover = button('Take over', { testid: 'lease-takeover', class: 'btn danger', title: 'admins: take the lease from its holder' }, () =>
    this.act(() => this.ctx.api.takeLease(this.id, true)),
  );
  private readonly release = button('Release', { testid: 'lease-release' }, () =>
    this.act(async () => {
      await this.ctx.api.releaseLease(this.id);
      return { drone_id: this.id, holder: null, expires_at: null };
    }),
  );
  private readonly buttons = h('span', { class: 'lease-buttons' }, [this.take, this.takeover, this.release]);
  private readonly error = h('p', { class: 'error', testid: 'lease-error', hidden: true, attrs: { role: 'alert' } });
  private busy = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly id: string,
  ) {
    this.root = h('div', { class: 'lease', testid: 'lease' }, [h('div', { class: 'lease-line' }, [h('span', { class: 'muted', text: 'Control: ' }), this.holder, this.buttons]), this.error]);
    this.reload();
  }

  /** Reads who holds the lease (at the start, and after a reconnect: `control` frames may have been missed). */
  reload(): void {
    void this.load();
  }

  /** Once per animation frame and each second (the lease's remaining time). */
  render(now: number): void {
    const user = this.ctx.session.user;
    const lease = this.ctx.leases.get(this.id);
    const nodeNow = this.ctx.store.nodeNow(now);
    const holder = currentHolder(lease, nodeNow);
    const mine = holder !== null && holder === user?.name;
    const left = isNum(lease?.expires_at) ? ` · ${fmt.duration((lease.expires_at - nodeNow) / 1000)} left` : '';
    setText(this.holder, holder === null ? 'nobody (anyone who may command it can)' : mine ? `you${left}` : `${holder}${left}`);
    this.holder.className = holder === null ? 'muted' : mine ? 'lease-mine' : 'lease-other';
    const group = this.ctx.store.get(this.id)?.drone.group ?? this.ctx.store.registry.get(this.id)?.group;
    const may = canCommand(user, group);
    this.buttons.hidden = !may;
    this.take.hidden = holder !== null && !mine;
    setText(this.take, mine ? 'Renew' : 'Take control');
    this.release.hidden = !(mine || (holder !== null && canForceLease(user)));
    this.takeover.hidden = !(holder !== null && !mine && canForceLease(user));
  }

  private async load(): Promise<void> {
    try {
      this.ctx.leases.set(await this.ctx.api.lease(this.id));
    } catch (e) {
      if (!(e instanceof SessionEndedError)) this.showError(`Cannot read the lease: ${describeError(e)}`);
    }
  }

  private async act(fn: () => Promise<{ drone_id: string; holder: string | null; expires_at?: number | null }>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.showError('');
    try {
      this.ctx.leases.set(await fn());
    } catch (e) {
      if (!(e instanceof SessionEndedError)) this.showError(describeError(e));
    } finally {
      this.busy = false;
    }
  }

  private showError(text: string): void {
    this.error.textContent = text;
    this.error.hidden = !text;
  }
}
