// The fleet table: search, group and status filters, the user's columns, sort by any column, the first N sorted rows
// (N: "rows", 100–1000) — of which only those in the scroll box's view (and a few more either side) are in the DOM,
// between two spacer rows that keep the scroll height of all N. Rows are pooled and patched in place, at most
// DATA_INTERVAL_MS apart for new data; scrolling shows the rows it reaches at the next frame. The fixed row height
// (ROW_HEIGHT, checked by a ResizeObserver) is what lets the window be computed without reading layout.
import type { AppContext } from './context';
import { button, h, input, labelled, select, setClass, setOptions, setText } from './dom';
import { Emitter } from './events';
import { isNum } from './format';
import { href } from './router';
import type { DroneEntry } from './store';
import {
  collator,
  COLUMN_BY_KEY,
  COLUMNS,
  COLUMNS_KEY,
  isFiltering,
  parseColumns,
  rowMatches,
  serializeColumns,
  topRows,
  type Column,
  type RowContext,
  type TableFilter,
} from './tableModel';

const ROW_LIMITS = ['100', '200', '500', '1000'] as const;
/**
 * New data reaches the table at most this often. Numbers changing 60 times a second cannot be read anyway, and each
 * change of hundreds of cells costs layout and paint; the map still moves at every frame. What the user does
 * (search, sort, columns) and drones coming or going show at the next frame.
 */
const DATA_INTERVAL_MS = 250;
/** Rows drawn beyond the view on either side (a scroll of a few rows shows drawn rows while the next frame comes). */
const OVERSCAN = 8;
/** The row height styles.css gives (table.fleet tbody td); a ResizeObserver corrects it if fonts make it otherwise. */
const ROW_HEIGHT = 25;
/** The view's height before the ResizeObserver first reported it. */
const DEFAULT_VIEW_PX = 600;

interface Row {
  tr: HTMLTableRowElement;
  /** Each column's content box (div.cell in its td): a layout boundary, so new text lays out that box only. */
  cells: Map<string, HTMLDivElement>;
  link: HTMLAnchorElement;
  badge: HTMLSpanElement;
  batFill: HTMLDivElement;
  batText: HTMLSpanElement;
  /** The battery bar's fill last drawn, in whole percent (-1: none yet). */
  bat: number;
  id: string | null;
}

function loadColumns(): string[] {
  try {
    return parseColumns(localStorage.getItem(COLUMNS_KEY));
  } catch {
    return parseColumns(null); // storage disabled
  }
}

function saveColumns(keys: readonly string[]): void {
  try {
    localStorage.setItem(COLUMNS_KEY, serializeColumns(keys));
  } catch {
    // The choice then lasts for this page only.
  }
}

export class FleetTable {
  readonly root: HTMLElement;
  /** The filter changed: what it lets through, or null for everything (the map dims the other drones). */
  readonly filterChanged = new Emitter<((e: DroneEntry) => boolean) | null>();

  private columns: Column[];
  private sortKey = 'id';
  private sortDir: 1 | -1 = 1;
  private rowLimit = 200;
  private filter: TableFilter = { text: '', group: '', status: '' };

  private naturalIds: string[] = [];
  private membershipSeen = -1;
  private versionSeen = -1;
  private groupsSeen = -1;
  private dirty = true; // what the user did, or the set of drones: draw at the next frame
  private stale = true; // the drones' data changed: draw within DATA_INTERVAL_MS
  private renderedAt = 0;
  private timer = 0;
  private rows: Row[] = [];
  /** The sorted, filtered ids the last data drawing chose (the first N); a scroll draws from it without sorting again. */
  private top: string[] = [];
  private rowHeight = ROW_HEIGHT;
  private scrollTop = 0;
  private viewHeight = DEFAULT_VIEW_PX;
  /** The rows of `top` in the DOM: [first, first + rows.length). */
  private first = 0;
  private moved = false; // scrolled or resized: another window of rows at the next frame
  private readonly resize: ResizeObserver;
  private probed: HTMLTableRowElement | null = null;

  private readonly search = input('search', { testid: 'table-search', attrs: { placeholder: 'search id, name, group…', 'aria-label': 'search' } });
  private readonly groupSelect = select([['', 'all']], { testid: 'table-group' });
  private readonly statusSelect = select(
    [
      ['', 'all'],
      ['online', 'online'],
      ['stale', 'stale'],
      ['lost', 'lost'],
    ],
    { testid: 'table-status' },
  );
  private readonly limitSelect = select(
    ROW_LIMITS.map((n) => [n, n] as const),
    { testid: 'table-limit' },
  );
  private readonly shown = h('span', { class: 'muted shown', testid: 'table-shown' });
  private readonly more = h('div', { class: 'muted more' });
  private readonly colgroup = h('colgroup');
  private readonly headRow = h('tr');
  private readonly body = h('tbody');
  private readonly padTop = h('tr', { class: 'spacer', attrs: { 'aria-hidden': 'true' } });
  private readonly padBottom = h('tr', { class: 'spacer', attrs: { 'aria-hidden': 'true' } });
  private readonly table = h('table', { class: 'fleet', testid: 'fleet-table' }, [this.colgroup, h('thead', {}, [this.headRow]), this.body]);
  private readonly scroller = h('div', { class: 'table-scroll' }, [this.table]);
  private readonly picker = h('div', { class: 'column-picker' });

  constructor(private readonly ctx: AppContext) {
    this.columns = loadColumns().map((k) => COLUMN_BY_KEY.get(k)!);
    this.limitSelect.value = String(this.rowLimit);
    this.search.spellcheck = false;
    this.search.autocomplete = 'off';
    const columnsMenu = h('details', { class: 'menu', testid: 'table-columns' }, [h('summary', { class: 'btn', text: 'Columns' }), this.picker]);
    this.root = h('section', { class: 'fleet-table' }, [
      h('div', { class: 'toolbar' }, [
        this.search,
        labelled('group', this.groupSelect, 'inline'),
        labelled('status', this.statusSelect, 'inline'),
        labelled('rows', this.limitSelect, 'inline'),
        columnsMenu,
        this.shown,
      ]),
      this.scroller,
      this.more,
    ]);
    this.search.addEventListener('input', () => this.setFilter({ text: this.search.value.trim().toLowerCase() }));
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.search.value) {
        this.search.value = '';
        this.setFilter({ text: '' });
      }
    });
    this.groupSelect.addEventListener('change', () => this.setFilter({ group: this.groupSelect.value }));
    this.statusSelect.addEventListener('change', () => this.setFilter({ status: this.statusSelect.value }));
    this.limitSelect.addEventListener('change', () => {
      this.rowLimit = parseInt(this.limitSelect.value, 10) || 200;
      this.dirty = true;
      ctx.frames.request();
    });
    this.headRow.addEventListener('click', (e) => {
      const th = (e.target as HTMLElement).closest('th');
      if (th?.dataset.key) this.sortBy(th.dataset.key);
    });
    this.body.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest('tr');
      const id = tr?.dataset.id;
      if (id && !(e.target as HTMLElement).closest('a')) ctx.router.go(href('drone', id));
    });
    // The window of rows follows the scroll position and the box's height, both known without reading layout in
    // render(): the scroll event's own position, the ResizeObserver's sizes.
    this.scroller.addEventListener(
      'scroll',
      () => {
        this.scrollTop = this.scroller.scrollTop;
        this.moved = true;
        ctx.frames.request();
      },
      { passive: true },
    );
    this.resize = new ResizeObserver((entries) => {
      for (const en of entries) {
        const px = en.borderBoxSize?.[0]?.blockSize ?? en.contentRect.height;
        if (en.target === this.scroller) this.viewHeight = en.contentRect.height || DEFAULT_VIEW_PX;
        else if (px > 0 && Math.abs(px - this.rowHeight) > 0.5) this.rowHeight = px;
      }
      this.moved = true;
      ctx.frames.request();
    });
    this.resize.observe(this.scroller);
    this.buildPicker();
    this.buildColumns();
  }

  /** Once per animation frame. */
  render(now: number): void {
    const store = this.ctx.store;
    if (store.groupsVersion !== this.groupsSeen) {
      this.groupsSeen = store.groupsVersion;
      this.renderGroups();
    }
    if (store.membership !== this.membershipSeen) {
      this.membershipSeen = store.membership;
      this.naturalIds = [...store.entries.keys()].sort(collator.compare);
      this.dirty = true;
    }
    if (store.version !== this.versionSeen) {
      this.versionSeen = store.version;
      this.stale = true;
    }
    const wait = DATA_INTERVAL_MS - (now - this.renderedAt);
    if (this.dirty || (this.stale && wait <= 0)) {
      this.renderRows(now);
    } else if (this.moved) {
      this.renderWindow(now, false); // the rows scrolled into view, from the last sorted list; data at its time
    }
    if (this.stale && !this.timer && !this.dirty) {
      // The data changed too soon after the last drawing: draw it when its time comes, even if nothing else changes.
      this.timer = window.setTimeout(() => {
        this.timer = 0;
        this.ctx.frames.request();
      }, wait);
    }
  }

  /** The clock moved ("last seen" ages): draw again soon. */
  touch(): void {
    this.stale = true;
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.resize.disconnect();
  }

  private rowContext(now: number): RowContext {
    return { nodeNow: this.ctx.store.nodeNow(now), registry: this.ctx.store.registry };
  }

  private setFilter(change: Partial<TableFilter>): void {
    const f = { ...this.filter, ...change };
    this.filter = f;
    const registry = this.ctx.store.registry;
    this.filterChanged.emit(isFiltering(f) ? (e) => rowMatches(e, f, registry) : null);
    this.dirty = true;
    this.ctx.frames.request();
  }

  private sortBy(key: string): void {
    if (key === this.sortKey) this.sortDir = this.sortDir > 0 ? -1 : 1;
    else {
      this.sortKey = key;
      this.sortDir = 1;
    }
    this.updateHeadClasses();
    this.dirty = true;
    this.ctx.frames.request();
  }

  private renderGroups(): void {
    const names = new Set(this.ctx.store.groups());
    for (const g of this.ctx.session.user?.groups ?? []) names.add(g);
    if (this.filter.group) names.add(this.filter.group);
    setOptions(this.groupSelect, [['', 'all'], ...[...names].sort(collator.compare).map((g) => [g, g] as const)]);
  }

  /** New data or what the user chose: filter and sort again, then draw the rows in view. */
  private renderRows(now: number): void {
    this.dirty = false;
    this.stale = false;
    this.renderedAt = now;
    const store = this.ctx.store;
    const rc = this.rowContext(now);
    const get = (id: string): DroneEntry | undefined => store.get(id);
    const filtering = isFiltering(this.filter);
    const ids = filtering ? this.naturalIds.filter((id) => rowMatches(store.get(id)!, this.filter, store.registry)) : this.naturalIds;
    const col = COLUMN_BY_KEY.get(this.sortKey) ?? COLUMNS[0]!;
    this.top = topRows(ids, col, this.sortDir, this.rowLimit, get, rc);
    const rest = ids.length - this.top.length;
    setText(this.more, rest > 0 ? `… and ${rest} more not shown: refine the search or filters, change the sort or raise "rows".` : '');
    setText(this.shown, `${this.top.length} of ${ids.length} shown${filtering ? ` · ${ids.length} of ${store.entries.size} match` : ''}`);
    this.renderWindow(now, true);
  }

  /**
   * The rows of `top` in the scroll box's view, plus OVERSCAN either side, into the pooled rows; spacer rows stand
   * for the others. `all`: patch every row drawn (new data); else only rows that now show another drone (a scroll).
   */
  private renderWindow(now: number, all: boolean): void {
    this.moved = false;
    const top = this.top;
    const h = this.rowHeight;
    const inView = Math.ceil(this.viewHeight / h) + 1;
    const count = Math.min(top.length, inView + 2 * OVERSCAN);
    const maxFirst = Math.max(0, top.length - count);
    const first = Math.min(maxFirst, Math.max(0, Math.floor(this.scrollTop / h) - OVERSCAN));
    const shifted = first !== this.first;
    this.first = first;
    setHeight(this.padTop, first * h);
    setHeight(this.padBottom, (top.length - first - count) * h);

    while (this.rows.length < count) {
      const row = this.makeRow();
      this.rows.push(row);
      this.body.insertBefore(row.tr, this.padBottom);
    }
    const store = this.ctx.store;
    const rc = this.rowContext(now);
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i]!;
      const e = i < count ? store.get(top[first + i]!) : undefined;
      if (e) {
        if (row.tr.hidden) row.tr.hidden = false;
        if (all || shifted || row.id !== e.drone.id) this.renderRow(row, e, rc);
      } else if (!row.tr.hidden) {
        row.tr.hidden = true;
        row.id = null;
        delete row.tr.dataset.id;
      }
    }
    // One row is watched for its real height (fonts, zoom): the window's arithmetic depends on it.
    const probe = this.rows[0]?.tr;
    if (probe && probe !== this.probed) {
      if (this.probed) this.resize.unobserve(this.probed);
      this.probed = probe;
      this.resize.observe(probe);
    }
  }

  private renderRow(row: Row, e: DroneEntry, rc: RowContext): void {
    const d = e.drone;
    if (row.id !== d.id) {
      row.id = d.id;
      row.tr.dataset.id = d.id;
      row.link.href = href('drone', d.id);
    }
    for (const col of this.columns) {
      const cell = row.cells.get(col.key)!;
      switch (col.key) {
        case 'id':
          setText(row.link, d.id);
          break;
        case 'status': {
          const s = d.status === 'online' || d.status === 'stale' || d.status === 'lost' ? d.status : 'unknown';
          setText(row.badge, col.text(e, rc));
          setClass(row.badge, `badge ${s}`);
          break;
        }
        case 'battery': {
          const b = isNum(d.battery) ? Math.max(0, Math.min(100, d.battery)) : 0;
          if (row.bat !== Math.round(b)) {
            row.bat = Math.round(b);
            // A transform, not a width: it changes no layout, so the table is not laid out again for it.
            row.batFill.style.transform = `scaleX(${row.bat / 100})`;
          }
          setClass(row.batFill, `fill${!isNum(d.battery) ? '' : b < 15 ? ' low' : b < 25 ? ' mid' : ''}`);
          setText(row.batText, col.text(e, rc));
          break;
        }
        case 'armed':
          setText(cell, col.text(e, rc));
          setClass(cell, d.armed === true ? 'cell armed-yes' : 'cell armed-no');
          break;
        default:
          setText(cell, col.text(e, rc));
      }
    }
  }

  private makeRow(): Row {
    const tr = h('tr', { testid: 'drone-row' });
    const cells = new Map<string, HTMLDivElement>();
    const link = h('a');
    const badge = h('span', { class: 'badge' });
    const batFill = h('div', { class: 'fill' });
    const batText = h('span', { class: 'txt' });
    for (const col of this.columns) {
      const cell = h('div', { class: col.key === 'battery' ? 'cell bat' : 'cell' });
      if (col.key === 'id') cell.append(link);
      else if (col.key === 'status') cell.append(badge);
      else if (col.key === 'battery') cell.append(h('div', { class: 'bar' }, [batFill]), batText);
      cells.set(col.key, cell);
      tr.append(h('td', { class: col.numeric ? 'num' : '' }, [cell]));
    }
    return { tr, cells, link, badge, batFill, batText, bat: -1, id: null };
  }

  private buildColumns(): void {
    this.colgroup.replaceChildren(
      ...this.columns.map((c) => {
        const col = h('col');
        col.style.width = `${c.width}px`;
        return col;
      }),
    );
    // Fixed layout keeps the columns from jumping as numbers change; the table is at least as wide as its columns
    // (it scrolls inside its box when the screen is narrower) and stretches to the box when wider.
    this.table.style.minWidth = `${this.columns.reduce((w, c) => w + c.width, 0)}px`;
    this.headRow.replaceChildren(
      ...this.columns.map((c) => h('th', { class: c.numeric ? 'num' : '', text: c.label, title: `sort by ${c.label}`, data: { key: c.key } })),
    );
    this.rows = [];
    if (this.probed) this.resize.unobserve(this.probed);
    this.probed = null;
    const span = String(this.columns.length);
    for (const pad of [this.padTop, this.padBottom]) pad.replaceChildren(h('td', { attrs: { colspan: span } }));
    this.body.replaceChildren(this.padTop, this.padBottom);
    this.updateHeadClasses();
    this.dirty = true;
  }

  private updateHeadClasses(): void {
    for (const th of this.headRow.children) {
      const key = (th as HTMLElement).dataset.key;
      const sorted = key === this.sortKey;
      th.classList.toggle('sorted', sorted);
      th.classList.toggle('desc', sorted && this.sortDir < 0);
      th.setAttribute('aria-sort', sorted ? (this.sortDir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  private buildPicker(): void {
    const chosen = new Set(this.columns.map((c) => c.key));
    const boxes = COLUMNS.map((c) => {
      const box = input('checkbox', { data: { key: c.key } });
      box.checked = chosen.has(c.key);
      box.disabled = c.key === 'id'; // the id column is the row's handle: always there, fixed on the left
      box.addEventListener('change', () => {
        const keys = boxes.filter((b) => b.checked).map((b) => b.dataset.key!);
        this.columns = keys.map((k) => COLUMN_BY_KEY.get(k)!);
        saveColumns(keys);
        if (!keys.includes(this.sortKey)) this.sortKey = 'id';
        this.buildColumns();
        this.ctx.frames.request();
      });
      return box;
    });
    this.picker.replaceChildren(
      ...COLUMNS.map((c, i) => h('label', { class: 'check' }, [boxes[i]!, c.label])),
      button('Standard columns', { class: 'btn small' }, () => {
        const standard = new Set(parseColumns(null));
        for (const b of boxes) b.checked = standard.has(b.dataset.key!);
        boxes[1]?.dispatchEvent(new Event('change'));
      }),
    );
  }
}

/** A spacer row's height, written only when it changed. */
function setHeight(tr: HTMLElement, px: number): void {
  const v = `${Math.max(0, Math.round(px))}px`;
  if (tr.style.height !== v) tr.style.height = v;
}
