// DCCS operator page: one WebSocket to /ws/operator, a sortable table of the drones and a canvas map.
// Plain modern JavaScript, no dependencies. Incoming frames only mutate state and set dirty flags; all
// DOM and canvas work happens at most once per animation frame (requestAnimationFrame), only the first
// `rowLimit` rows of the sorted/filtered list are rendered, and table rows are pooled and patched in place.
'use strict';

(() => {
  const WS_PATH = '/ws/operator';
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const MAX_NOTICES = 20;
  const STATUS_RANK = { online: 0, stale: 1, lost: 2 };
  const STATUS_COLOR = { online: '#3fb950', stale: '#d29922', lost: '#f85149', unknown: '#8b949e' };
  const DIM_COLOR = 'rgba(139, 148, 158, 0.25)';
  // Map draw order: problems on top.
  const MAP_GROUPS = ['dim', 'unknown', 'online', 'stale', 'lost'];

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- helpers

  const isNum = (v) => typeof v === 'number' && v - v === 0; // finite number (NaN/±Infinity fail)
  const num = (v) => (isNum(v) ? v : undefined);
  const fix = (v, n) => (isNum(v) ? v.toFixed(n) : '–');
  const statusKey = (d) => (d.status in STATUS_RANK ? d.status : 'unknown');

  function fmtAgo(seconds) {
    if (!isNum(seconds)) return '–';
    const s = Math.max(0, Math.floor(seconds));
    if (s < 120) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
    return `${Math.floor(s / 86400)}d`;
  }

  function fmtLatency(ms) {
    if (!isNum(ms)) return '–';
    return Math.abs(ms) < 10000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  function fmtTime(ms) {
    if (!isNum(ms)) return '–';
    const d = new Date(ms);
    return isNaN(d.getTime()) ? String(ms) : d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  }

  function clockTime(ms) {
    return new Date(ms).toTimeString().slice(0, 8);
  }

  function setText(el, text) {
    if (el._t !== text) {
      el._t = text;
      el.textContent = text;
    }
  }

  function setClass(el, cls) {
    if (el._c !== cls) {
      el._c = cls;
      el.className = cls;
    }
  }

  // ---------------------------------------------------------------- state

  const drones = new Map(); // id -> newest drone object as received (+ _lat: page latency at arrival)
  // Node clock minus page clock, ms, from the latest server_time. "last seen" is shown against the node's
  // clock (last_seen is node time) so a skewed operator clock does not distort it; the latency column is
  // deliberately page clock minus drone ts, as the protocol defines drone-to-operator latency.
  let clockOffset = 0;
  let selectedId = null;
  let filterText = '';
  let rowLimit = 200;
  let sortKey = 'id';
  let sortDir = 1;

  let membershipDirty = true; // the set of ids changed
  let membershipReset = true; // ... by a snapshot (ids may have gone): re-sort everything
  let newIds = []; // ids added since the last computeOrder (when no reset is pending)
  let filterDirty = true; // the filter text changed
  let orderDirty = true; // data or sort order changed
  let tableDirty = true;
  let mapDirty = true;
  let headerDirty = true;
  let detailDirty = true;
  let rafPending = false;

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  let idsSorted = []; // every id, natural order
  let filteredIds = []; // ids matching the filter, natural order
  let filteredSet = null; // Set of filteredIds when a filter is active, else null
  let topIds = []; // the rows to render, in display order

  // statistics over the last second
  let latWindow = [];
  let framesThisSecond = 0;
  let entriesThisSecond = 0;
  let latencyText = '–';
  let rateText = '–';

  // ---------------------------------------------------------------- columns

  const COLUMNS = [
    { key: 'id', label: 'id', width: 160 },
    { key: 'status', label: 'status', width: 80, small: true, value: (d) => STATUS_RANK[d.status] ?? 3 },
    { key: 'mode', label: 'mode', width: 90, str: true, value: (d) => (typeof d.mode === 'string' ? d.mode : undefined) },
    { key: 'armed', label: 'armed', width: 60, small: true, value: (d) => (typeof d.armed === 'boolean' ? +d.armed : undefined) },
    { key: 'lat', label: 'lat', width: 100, num: true, value: (d) => num(d.lat), text: (d) => fix(d.lat, 6) },
    { key: 'lon', label: 'lon', width: 105, num: true, value: (d) => num(d.lon), text: (d) => fix(d.lon, 6) },
    { key: 'alt', label: 'alt m', width: 75, num: true, value: (d) => num(d.alt), text: (d) => fix(d.alt, 1) },
    { key: 'speed', label: 'speed m/s', width: 85, num: true, value: (d) => num(d.speed), text: (d) => fix(d.speed, 1) },
    { key: 'heading', label: 'hdg °', width: 60, num: true, value: (d) => num(d.heading), text: (d) => fix(d.heading, 0) },
    { key: 'battery', label: 'battery', width: 120, value: (d) => num(d.battery) },
    // Ascending "last seen" = most recently seen first.
    { key: 'last_seen', label: 'last seen', width: 80, num: true, value: (d) => (isNum(d.last_seen) ? -d.last_seen : undefined) },
    { key: 'latency', label: 'latency', width: 80, num: true, value: (d) => d._lat },
  ];
  const COLUMN_BY_KEY = Object.fromEntries(COLUMNS.map((c) => [c.key, c]));

  // ---------------------------------------------------------------- DOM

  const el = {
    conn: $('conn'),
    total: $('n-total'),
    online: $('n-online'),
    stale: $('n-stale'),
    lost: $('n-lost'),
    latency: $('latency'),
    rate: $('rate'),
    notices: $('notices'),
    noticeList: $('notice-list'),
    noticeClear: $('notice-clear'),
    filter: $('filter'),
    limit: $('limit'),
    shown: $('shown'),
    cols: $('cols'),
    head: $('head'),
    rows: $('rows'),
    more: $('more'),
    map: $('map'),
    mapinfo: $('mapinfo'),
    detail: $('detail'),
  };
  const ctx = el.map.getContext('2d');
  const rowPool = [];
  const headCells = new Map();

  function buildHead() {
    for (const c of COLUMNS) {
      const col = document.createElement('col');
      col.style.width = `${c.width}px`;
      el.cols.append(col);
      const th = document.createElement('th');
      th.textContent = c.label;
      th.dataset.key = c.key;
      if (c.num) th.classList.add('num');
      th.title = `sort by ${c.label}`;
      el.head.append(th);
      headCells.set(c.key, th);
    }
    el.head.addEventListener('click', (e) => {
      const th = e.target.closest('th');
      if (!th) return;
      const key = th.dataset.key;
      if (key === sortKey) sortDir = -sortDir;
      else {
        sortKey = key;
        sortDir = 1;
      }
      orderDirty = true;
      updateHeadClasses();
      schedule();
    });
    updateHeadClasses();
  }

  function updateHeadClasses() {
    for (const [key, th] of headCells) {
      th.classList.toggle('sorted', key === sortKey);
      th.classList.toggle('desc', key === sortKey && sortDir < 0);
    }
  }

  function makeRow() {
    const tr = document.createElement('tr');
    const cells = {};
    for (const c of COLUMNS) {
      const td = document.createElement('td');
      if (c.num) td.className = 'num';
      if (c.key === 'status') {
        const badge = document.createElement('span');
        badge.className = 'badge';
        td.append(badge);
        cells.status = badge;
      } else if (c.key === 'battery') {
        const wrap = document.createElement('div');
        wrap.className = 'bat';
        const bar = document.createElement('div');
        bar.className = 'bar';
        const fill = document.createElement('div');
        fill.className = 'fill';
        const txt = document.createElement('span');
        txt.className = 'txt';
        bar.append(fill);
        wrap.append(bar, txt);
        td.append(wrap);
        cells.batFill = fill;
        cells.batTxt = txt;
      } else {
        cells[c.key] = td;
      }
      tr.append(td);
    }
    tr._cells = cells;
    tr._id = null;
    tr._w = null;
    return tr;
  }

  function renderRow(tr, d, now) {
    const c = tr._cells;
    tr._id = d.id;
    setClass(tr, d.id === selectedId ? 'selected' : '');
    setText(c.id, d.id);
    const st = statusKey(d);
    setText(c.status, typeof d.status === 'string' ? d.status : '?');
    setClass(c.status, `badge ${st}`);
    setText(c.mode, typeof d.mode === 'string' ? d.mode : '–');
    if (typeof d.armed === 'boolean') {
      setText(c.armed, d.armed ? 'yes' : 'no');
      setClass(c.armed, d.armed ? 'armed-yes' : 'armed-no');
    } else {
      setText(c.armed, '–');
      setClass(c.armed, 'armed-no');
    }
    for (const col of COLUMNS) if (col.text) setText(c[col.key], col.text(d));
    if (isNum(d.battery)) {
      const b = Math.max(0, Math.min(100, d.battery));
      const w = `${b.toFixed(0)}%`;
      if (tr._w !== w) {
        tr._w = w;
        c.batFill.style.width = w;
      }
      setClass(c.batFill, b < 20 ? 'fill low' : b < 40 ? 'fill mid' : 'fill');
      setText(c.batTxt, w);
    } else {
      if (tr._w !== '0%') {
        tr._w = '0%';
        c.batFill.style.width = '0%';
      }
      setText(c.batTxt, '–');
    }
    setText(c.last_seen, isNum(d.last_seen) ? fmtAgo((now + clockOffset - d.last_seen) / 1000) : '–');
    setText(c.latency, fmtLatency(d._lat));
  }

  // ---------------------------------------------------------------- ordering

  function computeOrder() {
    if (membershipDirty) {
      if (membershipReset || newIds.length > 500) {
        idsSorted = Array.from(drones.keys()).sort(collator.compare);
      } else {
        // A few drones joined: binary-insert them instead of re-sorting (collation is the costly part).
        for (const id of newIds) {
          let lo = 0;
          let hi = idsSorted.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (collator.compare(idsSorted[mid], id) <= 0) lo = mid + 1;
            else hi = mid;
          }
          idsSorted.splice(lo, 0, id);
        }
      }
      newIds = [];
      membershipReset = false;
      membershipDirty = false;
      filterDirty = true;
    }
    if (filterDirty) {
      const f = filterText;
      if (f) {
        filteredIds = idsSorted.filter((id) => id.toLowerCase().includes(f));
        filteredSet = new Set(filteredIds);
      } else {
        filteredIds = idsSorted;
        filteredSet = null;
      }
      filterDirty = false;
      orderDirty = true;
      mapDirty = true;
    }
    if (!orderDirty) return;
    orderDirty = false;
    tableDirty = true;

    const ids = filteredIds;
    const n = ids.length;
    const limit = Math.min(rowLimit, n);
    if (sortKey === 'id') {
      topIds = sortDir > 0 ? ids.slice(0, limit) : ids.slice(n - limit).reverse();
      return;
    }
    const col = COLUMN_BY_KEY[sortKey];
    const dir = sortDir;
    let order;
    if (col.str) {
      order = sortGeneric(ids, col, dir);
    } else {
      // Numeric keys go into a Float64Array (missing = NaN). Small-integer keys (status, armed) are made
      // unique as value·n + index, so the native comparator-free sort gives the final order directly.
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = col.value(drones.get(ids[i]));
        keys[i] = v === undefined ? NaN : col.small ? dir * v * n + i : dir * v;
      }
      order = topIndices(keys, limit);
    }
    topIds = new Array(limit);
    for (let i = 0; i < limit; i++) topIds[i] = ids[order[i]];
  }

  // Indices of the `limit` smallest keys in ascending order, NaN (missing) last, ties by index. Only the
  // candidates up to the limit-th smallest key are sorted with a comparator, so sorting 10,000 drones to
  // show 200 costs one native Float64Array sort plus a small comparator sort.
  function topIndices(keys, limit) {
    const n = keys.length;
    let cand;
    const threshold = limit > 0 && limit < n ? keys.slice().sort()[limit - 1] : NaN; // typed sort puts NaN last
    if (threshold === threshold) {
      cand = [];
      for (let i = 0; i < n; i++) if (keys[i] <= threshold) cand.push(i);
    } else {
      cand = Array.from({ length: n }, (_, i) => i);
    }
    cand.sort((a, b) => {
      const ka = keys[a];
      const kb = keys[b];
      if (ka !== ka || kb !== kb) {
        if (ka !== ka && kb !== kb) return a - b;
        return ka !== ka ? 1 : -1;
      }
      return ka - kb || a - b;
    });
    return cand;
  }

  function sortGeneric(ids, col, dir) {
    const n = ids.length;
    const keys = new Array(n);
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = col.value(drones.get(ids[i]));
      idx[i] = i;
    }
    // Missing values always sort last; ties keep the natural id order.
    return idx.sort((a, b) => {
      const ka = keys[a];
      const kb = keys[b];
      if (ka === undefined || kb === undefined) {
        if (ka === kb) return a - b;
        return ka === undefined ? 1 : -1;
      }
      if (ka < kb) return -dir;
      if (ka > kb) return dir;
      return a - b;
    });
  }

  // ---------------------------------------------------------------- rendering

  function schedule() {
    if (!rafPending) {
      rafPending = true;
      requestAnimationFrame(render);
    }
  }

  function render() {
    rafPending = false;
    const now = Date.now();
    if (membershipDirty || filterDirty || orderDirty) computeOrder();
    if (tableDirty) renderTable(now);
    if (mapDirty) drawMap();
    if (headerDirty) renderHeader();
    if (detailDirty) renderDetail(now);
  }

  function renderTable(now) {
    tableDirty = false;
    const n = topIds.length;
    while (rowPool.length < n) {
      const tr = makeRow();
      rowPool.push(tr);
      el.rows.append(tr);
    }
    let shown = 0;
    for (let i = 0; i < rowPool.length; i++) {
      const tr = rowPool[i];
      const d = i < n ? drones.get(topIds[i]) : undefined;
      if (d) {
        if (tr.hidden) tr.hidden = false;
        renderRow(tr, d, now);
        shown++;
      } else if (!tr.hidden) {
        tr.hidden = true;
        tr._id = null;
      }
    }
    const total = filteredIds.length;
    const rest = total - shown;
    setText(el.more, rest > 0 ? `… and ${rest} more not shown — refine the filter, change the sort or raise "rows".` : '');
    let shownText = `${shown} of ${total} shown`;
    if (filterText) shownText += ` · filter matches ${total} of ${drones.size}`;
    setText(el.shown, shownText);
  }

  function renderHeader() {
    headerDirty = false;
    let online = 0;
    let stale = 0;
    let lost = 0;
    for (const d of drones.values()) {
      if (d.status === 'online') online++;
      else if (d.status === 'stale') stale++;
      else if (d.status === 'lost') lost++;
    }
    setText(el.total, String(drones.size));
    setText(el.online, String(online));
    setText(el.stale, String(stale));
    setText(el.lost, String(lost));
    setText(el.latency, latencyText);
    setText(el.rate, rateText);
  }

  const DETAIL_FIELDS = [
    ['status', (v) => v],
    ['model', (v) => v],
    ['fw', (v) => v],
    ['mode', (v) => v],
    ['armed', (v) => (v ? 'yes' : 'no')],
    ['lat', (v) => fix(v, 7)],
    ['lon', (v) => fix(v, 7)],
    ['alt', (v) => `${fix(v, 2)} m`],
    ['heading', (v) => `${fix(v, 1)}°`],
    ['speed', (v) => `${fix(v, 2)} m/s`],
    ['vspeed', (v) => `${fix(v, 2)} m/s`],
    ['battery', (v) => `${fix(v, 1)} %`],
    ['voltage', (v) => `${fix(v, 2)} V`],
    ['sats', (v) => String(v)],
    ['fix', (v) => String(v)],
    ['roll', (v) => `${fix(v, 1)}°`],
    ['pitch', (v) => `${fix(v, 1)}°`],
    ['yaw', (v) => `${fix(v, 1)}°`],
    ['seq', (v) => String(v)],
    ['ts', fmtTime],
    ['recv', fmtTime],
    ['last_seen', fmtTime],
  ];
  const DETAIL_KEYS = new Set(['id', ...DETAIL_FIELDS.map(([k]) => k)]);

  function renderDetail(now) {
    detailDirty = false;
    if (selectedId === null) {
      if (el.detail._mode !== 'hint') {
        el.detail._mode = 'hint';
        el.detail.className = 'muted';
        el.detail.textContent = 'Click a row or a dot to see every field of a drone.';
      }
      return;
    }
    el.detail._mode = 'drone';
    el.detail.className = '';
    const d = drones.get(selectedId);
    const h = document.createElement('h2');
    h.textContent = selectedId;
    if (!d) {
      const p = document.createElement('div');
      p.className = 'muted';
      p.textContent = 'not known to the node (not in the last snapshot)';
      el.detail.replaceChildren(h, p);
      return;
    }
    const dl = document.createElement('dl');
    const add = (k, v) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dl.append(dt, dd);
    };
    for (const [k, f] of DETAIL_FIELDS) if (d[k] !== undefined && d[k] !== null) add(k, f(d[k]));
    for (const k of Object.keys(d)) {
      if (DETAIL_KEYS.has(k) || k.startsWith('_')) continue;
      const v = d[k];
      add(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    if (isNum(d.last_seen)) add('last seen', `${fmtAgo((now + clockOffset - d.last_seen) / 1000)} ago`);
    if (isNum(d.recv) && isNum(d.ts)) add('drone→node', fmtLatency(d.recv - d.ts));
    add('drone→page', `${fmtLatency(d._lat)} (at arrival)`);
    el.detail.replaceChildren(h, dl);
  }

  // ---------------------------------------------------------------- map

  let proj = null; // last projection, for hit-testing clicks

  function niceLength(target) {
    const p = 10 ** Math.floor(Math.log10(target));
    const m = target / p;
    return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
  }

  function drawMap() {
    mapDirty = false;
    const canvas = el.map;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const bw = Math.max(1, Math.round(cw * dpr));
    const bh = Math.max(1, Math.round(ch * dpr));
    if (canvas.width !== bw || canvas.height !== bh) {
      canvas.width = bw;
      canvas.height = bh;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw, ch);

    let minLat = Infinity;
    let maxLat = -Infinity;
    let minLon = Infinity;
    let maxLon = -Infinity;
    let count = 0;
    for (const d of drones.values()) {
      const lat = d.lat;
      const lon = d.lon;
      if (!isNum(lat) || !isNum(lon)) continue;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
      if (lon < minLon) minLon = lon;
      if (lon > maxLon) maxLon = lon;
      count++;
    }
    if (count === 0 || cw < 10 || ch < 10) {
      proj = null;
      ctx.fillStyle = '#8b949e';
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(drones.size ? 'no positions yet' : 'no drones', cw / 2, ch / 2);
      setText(el.mapinfo, '');
      return;
    }

    // Equirectangular projection around the box centre, scaled so that the box fits.
    const midLat = (minLat + maxLat) / 2;
    const midLon = (minLon + maxLon) / 2;
    const kx = Math.max(0.01, Math.cos((midLat * Math.PI) / 180));
    const MIN_SPAN = 0.002; // degrees (~200 m), so a single drone does not zoom in infinitely
    const spanX = Math.max((maxLon - minLon) * kx, MIN_SPAN);
    const spanY = Math.max(maxLat - minLat, MIN_SPAN);
    const pad = 18;
    const scale = Math.min((cw - 2 * pad) / spanX, (ch - 2 * pad) / spanY);
    const sx = kx * scale;
    const ox = cw / 2 - midLon * sx;
    const oy = ch / 2 + midLat * scale;
    proj = { sx, sy: scale, ox, oy };

    const groups = {};
    for (const g of MAP_GROUPS) groups[g] = { dots: new Path2D(), ticks: new Path2D() };
    const TICK = 7;
    const DEG = Math.PI / 180;
    for (const d of drones.values()) {
      const lat = d.lat;
      const lon = d.lon;
      if (!isNum(lat) || !isNum(lon)) continue;
      const x = ox + lon * sx;
      const y = oy - lat * scale;
      const g = filteredSet !== null && !filteredSet.has(d.id) ? groups.dim : groups[statusKey(d)];
      g.dots.rect(x - 1.5, y - 1.5, 3, 3);
      const h = d.heading;
      if (isNum(h)) {
        const a = h * DEG;
        g.ticks.moveTo(x, y);
        g.ticks.lineTo(x + Math.sin(a) * TICK, y - Math.cos(a) * TICK);
      }
    }
    ctx.lineWidth = 1;
    for (const name of MAP_GROUPS) {
      const color = name === 'dim' ? DIM_COLOR : STATUS_COLOR[name];
      ctx.fillStyle = color;
      ctx.strokeStyle = color;
      ctx.stroke(groups[name].ticks);
      ctx.fill(groups[name].dots);
    }

    // Selected drone: ring and label.
    const sel = selectedId !== null ? drones.get(selectedId) : undefined;
    if (sel && isNum(sel.lat) && isNum(sel.lon)) {
      const x = ox + sel.lon * sx;
      const y = oy - sel.lat * scale;
      ctx.strokeStyle = '#58a6ff';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.font = '12px system-ui, sans-serif';
      ctx.textAlign = x > cw - 120 ? 'right' : 'left';
      ctx.fillStyle = '#d7dde4';
      ctx.fillText(sel.id, x + (ctx.textAlign === 'right' ? -10 : 10), y - 8);
    }

    // Scale bar (metres along a parallel at the centre latitude).
    const pxPerMetre = scale / 111320;
    const metres = niceLength(100 / pxPerMetre);
    const len = metres * pxPerMetre;
    ctx.strokeStyle = '#8b949e';
    ctx.fillStyle = '#8b949e';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(10, ch - 12);
    ctx.lineTo(10, ch - 8);
    ctx.lineTo(10 + len, ch - 8);
    ctx.lineTo(10 + len, ch - 12);
    ctx.stroke();
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, 14 + len, ch - 6);
    ctx.textAlign = 'right';
    ctx.fillText('N ↑', cw - 8, 14);

    setText(
      el.mapinfo,
      `${count} plotted · lat ${minLat.toFixed(5)} … ${maxLat.toFixed(5)} · lon ${minLon.toFixed(5)} … ${maxLon.toFixed(5)}`,
    );
  }

  function mapClick(e) {
    if (!proj) return;
    const r = el.map.getBoundingClientRect();
    const px = e.clientX - r.left;
    const py = e.clientY - r.top;
    let best = null;
    let bestD2 = 10 * 10; // pick radius: 10 px
    for (const d of drones.values()) {
      if (!isNum(d.lat) || !isNum(d.lon)) continue;
      const dx = proj.ox + d.lon * proj.sx - px;
      const dy = proj.oy - d.lat * proj.sy - py;
      const d2 = dx * dx + dy * dy;
      if (d2 < bestD2) {
        bestD2 = d2;
        best = d.id;
      }
    }
    select(best);
  }

  function select(id) {
    selectedId = id;
    tableDirty = mapDirty = detailDirty = true;
    schedule();
  }

  // ---------------------------------------------------------------- notices

  const notices = []; // newest first: { text, at, count }

  function notice(text) {
    const now = Date.now();
    const last = notices[0];
    if (last && last.text === text) {
      last.count++;
      last.at = now;
    } else {
      notices.unshift({ text, at: now, count: 1 });
      if (notices.length > MAX_NOTICES) notices.length = MAX_NOTICES;
    }
    renderNotices();
  }

  function renderNotices() {
    el.notices.hidden = notices.length === 0;
    el.noticeList.replaceChildren(
      ...notices.map((n) => {
        const li = document.createElement('li');
        const t = document.createElement('time');
        t.textContent = clockTime(n.at);
        li.append(t, n.count > 1 ? `${n.text} (×${n.count})` : n.text);
        return li;
      }),
    );
  }

  // ---------------------------------------------------------------- protocol

  function markAllDirty() {
    orderDirty = tableDirty = mapDirty = headerDirty = true;
    if (selectedId !== null) detailDirty = true;
    schedule();
  }

  function addedId(id) {
    membershipDirty = true;
    if (!membershipReset) newIds.push(id);
  }

  function applyDrone(d, now) {
    if (!d || typeof d !== 'object' || typeof d.id !== 'string') return false;
    d._lat = isNum(d.ts) ? now - d.ts : undefined;
    if (!drones.has(d.id)) addedId(d.id);
    drones.set(d.id, d); // each entry replaces the drone's whole state
    return true;
  }

  function onSnapshot(msg, now) {
    drones.clear();
    membershipDirty = membershipReset = true;
    newIds = [];
    if (Array.isArray(msg.drones)) for (const d of msg.drones) applyDrone(d, now);
    setLive();
    markAllDirty();
  }

  function onUpdate(msg, now) {
    if (!Array.isArray(msg.drones)) return;
    for (const d of msg.drones) {
      if (applyDrone(d, now) && d._lat !== undefined && latWindow.length < 50000) latWindow.push(d._lat);
    }
    framesThisSecond++;
    entriesThisSecond += msg.drones.length;
    markAllDirty();
  }

  function onStatus(msg) {
    if (!Array.isArray(msg.events)) return;
    for (const ev of msg.events) {
      if (!ev || typeof ev.drone_id !== 'string' || typeof ev.status !== 'string') continue;
      const d = drones.get(ev.drone_id);
      if (d) d.status = ev.status;
      else {
        drones.set(ev.drone_id, { id: ev.drone_id, status: ev.status });
        addedId(ev.drone_id);
      }
    }
    markAllDirty();
  }

  function onFrame(data) {
    if (typeof data !== 'string') return; // the protocol uses text frames only
    const now = Date.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      notice('the node sent a frame that is not JSON');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (isNum(msg.server_time)) clockOffset = msg.server_time - now;
    switch (msg.type) {
      case 'snapshot':
        onSnapshot(msg, now);
        break;
      case 'update':
        onUpdate(msg, now);
        break;
      case 'status':
        onStatus(msg);
        break;
      case 'error':
        notice(`node error${msg.code ? ` [${msg.code}]` : ''}: ${msg.message ?? ''}`);
        break;
      default:
        break; // unknown frame types are ignored (forward compatibility)
    }
  }

  // ---------------------------------------------------------------- connection

  let ws = null;
  let attempt = 0;
  let everLive = false;
  let reconnectTimer = 0;
  let reconnectAt = 0;
  let connState = '';

  const CLOSE_REASONS = {
    1000: 'normal close',
    1001: 'the node is shutting down',
    1006: 'connection lost or node unreachable',
    1008: 'policy violation',
    1009: 'frame too large',
    1011: 'node internal error',
  };

  function setConn(state, text, title) {
    connState = state;
    setClass(el.conn, `conn ${state}`);
    setText(el.conn, text ?? state);
    el.conn.title = title ?? `WebSocket ${wsUrl()}`;
    document.body.classList.toggle('offline', state !== 'live');
  }

  function setLive() {
    attempt = 0;
    everLive = true;
    setConn('live');
  }

  function wsUrl() {
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${WS_PATH}`;
  }

  function connect() {
    reconnectTimer = 0;
    if (!location.host) {
      setConn('reconnecting', 'no host');
      notice('open this page from the node (http://host:port/), not from a file');
      return;
    }
    setConn(everLive ? 'reconnecting' : 'connecting', everLive ? 'reconnecting…' : 'connecting');
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      notice(`cannot open ${wsUrl()}: ${e.message}`);
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      sock.send(JSON.stringify({ type: 'subscribe', drones: '*' }));
    };
    sock.onmessage = (ev) => {
      if (ws === sock) onFrame(ev.data);
    };
    sock.onerror = () => {}; // a close event follows and handles it
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      const why = CLOSE_REASONS[ev.code] ?? 'closed';
      notice(`connection closed (${ev.code} ${why}${ev.reason ? `: ${ev.reason}` : ''})`);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    attempt++;
    const delay = Math.round(base * (0.5 + Math.random() * 0.5)); // jitter
    reconnectAt = Date.now() + delay;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
    showCountdown();
  }

  function showCountdown() {
    if (!reconnectTimer) return;
    const s = Math.max(0, Math.ceil((reconnectAt - Date.now()) / 1000));
    setConn('reconnecting', `reconnecting in ${s}s`, `attempt ${attempt}, WebSocket ${wsUrl()}`);
  }

  function reconnectNow() {
    if (!reconnectTimer) return;
    clearTimeout(reconnectTimer);
    connect();
  }

  // ---------------------------------------------------------------- once per second

  function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }

  function tick() {
    if (latWindow.length) {
      const a = Float64Array.from(latWindow).sort();
      latencyText = `${fmtLatency(percentile(a, 0.5))} / ${fmtLatency(percentile(a, 0.95))}`;
    } else {
      latencyText = '–';
    }
    rateText = `${framesThisSecond} fr/s · ${entriesThisSecond} drones/s`;
    latWindow = [];
    framesThisSecond = 0;
    entriesThisSecond = 0;
    showCountdown();
    // "last seen" ages and the detail panel move with the clock.
    tableDirty = headerDirty = detailDirty = true;
    schedule();
  }

  // ---------------------------------------------------------------- wiring

  buildHead();

  el.filter.addEventListener('input', () => {
    filterText = el.filter.value.trim().toLowerCase();
    filterDirty = true;
    schedule();
  });
  el.filter.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && el.filter.value) {
      el.filter.value = '';
      el.filter.dispatchEvent(new Event('input'));
    }
  });
  el.limit.addEventListener('change', () => {
    rowLimit = parseInt(el.limit.value, 10) || 200;
    orderDirty = true;
    schedule();
  });
  el.rows.addEventListener('click', (e) => {
    const tr = e.target.closest('tr');
    if (tr && tr._id) select(tr._id === selectedId ? null : tr._id);
  });
  el.map.addEventListener('click', mapClick);
  el.noticeClear.addEventListener('click', () => {
    notices.length = 0;
    renderNotices();
  });
  new ResizeObserver(() => {
    mapDirty = true;
    schedule();
  }).observe(el.map);
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) reconnectNow();
  });

  setInterval(tick, 1000);
  connect();
  schedule();
})();
