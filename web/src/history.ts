// History replay of the drone detail: a time range → GET /track and /telemetry → the track on the map and a time
// slider moving a marker along it with the stored values at that moment; and the range as CSV (the node's own CSV of
// the telemetry route).
import type { HistoryRange } from './api';
import type { AppContext } from './context';
import { button, downloadText, h, input, labelled, setText } from './dom';
import { describeError, SessionEndedError } from './errors';
import * as fmt from './format';
import { csvFileName, MAX_ROWS, nearestIndex, parseTrack, pickBucket, rangeProblem, type Track } from './historyModel';
import type { TrackOverlay } from './map/map';
import type { TelemetryRow } from './types';

const PRESETS: readonly [label: string, minutes: number][] = [
  ['15 min', 15],
  ['1 h', 60],
  ['6 h', 360],
  ['24 h', 1440],
];

export class HistoryReplay {
  readonly root: HTMLElement;
  private readonly from = input('datetime-local', { testid: 'history-from' });
  private readonly to = input('datetime-local', { testid: 'history-to' });
  private readonly status = h('p', { class: 'muted', testid: 'history-status' });
  private readonly slider = input('range', { testid: 'history-slider', value: '0', min: '0' });
  private readonly readout = h('div', { class: 'replay-readout', testid: 'history-readout' });
  private readonly player = h('div', { class: 'replay', hidden: true }, [this.slider, this.readout]);
  private readonly loadButton = button('Show track', { testid: 'history-load', class: 'btn primary' }, () => void this.load());
  private readonly csvButton = button('Export CSV', { testid: 'history-csv', title: 'the stored telemetry of the range, as the node exports it' }, () => void this.exportCsv());
  private readonly clearButton = button('Clear', { testid: 'history-clear' }, () => this.clear());
  private overlay: TrackOverlay | null = null;
  private track: Track | null = null;
  private rows: TelemetryRow[] = [];
  private rowTimes: number[] = [];
  private loadSeq = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly id: string,
  ) {
    this.setPreset(15);
    this.clearButton.hidden = true;
    this.slider.addEventListener('input', () => this.showAt(this.slider.valueAsNumber));
    this.root = h('div', { class: 'history', testid: 'history' }, [
      h('div', { class: 'form-row' }, [labelled('from', this.from, 'inline'), labelled('to', this.to, 'inline')]),
      h('div', { class: 'form-row' }, [
        ...PRESETS.map(([label, minutes]) => button(label, { class: 'btn small' }, () => this.setPreset(minutes))),
      ]),
      h('div', { class: 'form-row' }, [this.loadButton, this.csvButton, this.clearButton]),
      this.status,
      this.player,
    ]);
  }

  destroy(): void {
    this.loadSeq++;
    this.overlay?.remove();
    this.overlay = null;
  }

  private setPreset(minutes: number): void {
    const now = Date.now();
    this.from.value = fmt.toLocalInput(now - minutes * 60000);
    this.to.value = fmt.toLocalInput(now + 60000); // the current minute included
  }

  private range(): HistoryRange | null {
    // datetime-local values are local times without a zone: Date.parse of "YYYY-MM-DDTHH:MM" reads them as local.
    const from = Date.parse(this.from.value);
    const to = Date.parse(this.to.value);
    const problem = rangeProblem(from, to);
    if (problem) {
      this.setStatus(problem, true);
      return null;
    }
    return { from, to };
  }

  private async load(): Promise<void> {
    const range = this.range();
    if (!range) return;
    const seq = ++this.loadSeq;
    const bucket = pickBucket(range.to - range.from);
    this.setStatus('Loading…', false);
    try {
      const [fc, page] = await Promise.all([
        this.ctx.api.track(this.id, range),
        this.ctx.api.telemetry(this.id, range, { limit: MAX_ROWS, bucket }),
      ]);
      if (seq !== this.loadSeq) return;
      this.show(parseTrack(fc), page.rows ?? [], bucket, page.next_cursor !== null);
    } catch (e) {
      if (seq === this.loadSeq && !(e instanceof SessionEndedError)) this.setStatus(describeError(e), true);
    }
  }

  private show(track: Track, rows: TelemetryRow[], bucket: string | undefined, truncated: boolean): void {
    this.overlay?.remove();
    this.overlay = null;
    this.track = track;
    this.rows = rows;
    this.rowTimes = rows.map((r) => r.ts);
    if (track.points.length === 0) {
      this.player.hidden = true;
      this.clearButton.hidden = true;
      this.setStatus('No stored positions in this range.', false);
      return;
    }
    this.overlay = this.ctx.map.showTrack(track.points);
    this.slider.max = String(track.points.length - 1);
    this.slider.value = '0';
    this.player.hidden = false;
    this.clearButton.hidden = false;
    const parts = [`${track.points.length} positions`];
    if (track.sampled) parts.push(`sampled from ${track.samples}`);
    parts.push(bucket ? `values averaged per ${bucket}` : `${rows.length} samples`);
    if (truncated) parts.push(`values of the first ${MAX_ROWS} rows only`);
    this.setStatus(parts.join(' · '), false);
    this.showAt(0);
  }

  private showAt(i: number): void {
    const track = this.track;
    if (!track || !this.overlay) return;
    const p = track.points[i];
    const t = track.times[i];
    if (!p || t === undefined) return;
    this.overlay.moveMarker(p[0], p[1]);
    const r = this.rows[nearestIndex(this.rowTimes, t)];
    const values = r
      ? [
          `alt ${fmt.fixed(r.alt, 1, 'm')}`,
          `speed ${fmt.fixed(r.speed, 1, 'm/s')}`,
          `battery ${fmt.fixed(r.battery, 0, '%')}`,
          r.mode ? `mode ${r.mode}` : '',
          typeof r.armed === 'boolean' ? (r.armed ? 'armed' : 'disarmed') : '',
        ].filter(Boolean)
      : [];
    setText(this.readout, [fmt.dateTime(t), `${fmt.coord(p[0])}, ${fmt.coord(p[1])}`, ...values].join(' · '));
  }

  private clear(): void {
    this.loadSeq++;
    this.overlay?.remove();
    this.overlay = null;
    this.track = null;
    this.player.hidden = true;
    this.clearButton.hidden = true;
    this.setStatus('', false);
  }

  private async exportCsv(): Promise<void> {
    const range = this.range();
    if (!range) return;
    this.csvButton.disabled = true;
    try {
      const csv = await this.ctx.api.telemetryCsv(this.id, range, { limit: MAX_ROWS, bucket: pickBucket(range.to - range.from) });
      downloadText(csvFileName(this.id, range.from, range.to), csv);
    } catch (e) {
      if (!(e instanceof SessionEndedError)) this.setStatus(`Export failed: ${describeError(e)}`, true);
    } finally {
      this.csvButton.disabled = false;
    }
  }

  private setStatus(text: string, error: boolean): void {
    setText(this.status, text);
    this.status.className = error ? 'error' : 'muted';
  }
}
