// DCCS operator page: a login, one WebSocket to /ws/operator, a sortable table of the drones and a canvas map.
// Plain modern JavaScript, no dependencies. Incoming frames only mutate state and set dirty flags; all
// DOM and canvas work happens at most once per animation frame (requestAnimationFrame), only the first
// `rowLimit` rows of the sorted/filtered list are rendered, and table rows are pooled and patched in place.
// Authentication (see README.md): the access token lives in memory only, the single-use refresh token in
// sessionStorage; every (re)connect asks POST /api/v1/auth/ticket for a fresh single-use WebSocket ticket.
// Everything put into the DOM goes through textContent / DOM properties, never innerHTML.
'use strict';

(() => {
  const WS_PATH = '/ws/operator';
  const API = '/api/v1';
  const REQUEST_TIMEOUT_MS = 15000;
  const STORE_KEY = 'dccs.operator.session'; // sessionStorage: { sid, refresh_token, refresh_expires_at }
  const TAB_CHANNEL = 'dccs.operator.session'; // BroadcastChannel used to spot a duplicated tab
  const RENEW_RETRY_MS = 15000; // a failed early renewal is retried after this long
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
  const groupOf = (d) => (typeof d.group === 'string' && d.group !== '' ? d.group : undefined);

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
  let groupFilter = null; // exact group name, or null for every group
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
  let groupsDirty = true; // the set of known group names changed (the group <select>)
  let rafPending = false;

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  let idsSorted = []; // every id, natural order
  let filteredIds = []; // ids matching the filter, natural order
  let filteredSet = null; // Set of filteredIds when a filter is active, else null
  let topIds = []; // the rows to render, in display order
  const groupCounts = new Map(); // group name -> number of known drones in it
  let groupOptionsKey = null; // the option list last rendered into the group <select>

  // statistics over the last second
  let latWindow = [];
  let framesThisSecond = 0;
  let entriesThisSecond = 0;
  let latencyText = '–';
  let rateText = '–';

  // ---------------------------------------------------------------- columns

  const COLUMNS = [
    { key: 'id', label: 'id', width: 160 },
    { key: 'group', label: 'group', width: 110, str: true, value: groupOf, text: (d) => groupOf(d) ?? '–' },
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
    groupFilter: $('group-filter'),
    who: $('who'),
    whoName: $('who-name'),
    whoRole: $('who-role'),
    whoGroups: $('who-groups'),
    logout: $('logout'),
    login: $('login'),
    loginForm: $('login-form'),
    loginMsg: $('login-msg'),
    loginName: $('login-name'),
    loginPass: $('login-pass'),
    loginError: $('login-error'),
    loginSubmit: $('login-submit'),
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
      const g = groupFilter;
      if (f || g !== null) {
        // The text matches the id or the group (case-insensitive substring); the <select> picks one group.
        filteredIds = idsSorted.filter((id) => {
          const dg = groupOf(drones.get(id));
          if (g !== null && dg !== g) return false;
          return !f || id.toLowerCase().includes(f) || (dg !== undefined && dg.toLowerCase().includes(f));
        });
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
    if (groupsDirty) renderGroupOptions();
  }

  function renderGroupOptions() {
    groupsDirty = false;
    const names = new Set(groupCounts.keys());
    if (user && Array.isArray(user.groups)) for (const g of user.groups) if (typeof g === 'string' && g) names.add(g);
    if (groupFilter !== null) names.add(groupFilter);
    const list = Array.from(names).sort(collator.compare);
    const key = list.join('\u0000');
    if (key === groupOptionsKey) return;
    groupOptionsKey = key;
    const all = document.createElement('option');
    all.value = '';
    all.textContent = 'all';
    const opts = [all];
    for (const g of list) {
      const o = document.createElement('option');
      o.value = g;
      o.textContent = g;
      opts.push(o);
    }
    el.groupFilter.replaceChildren(...opts);
    el.groupFilter.value = groupFilter ?? '';
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
    if (filterText || groupFilter !== null) shownText += ` · filter matches ${total} of ${drones.size}`;
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
    ['group', (v) => String(v)],
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

  function countGroup(g, delta) {
    if (g === undefined) return;
    const n = (groupCounts.get(g) ?? 0) + delta;
    if (n > 0) {
      if (!groupCounts.has(g)) groupsDirty = true;
      groupCounts.set(g, n);
    } else if (groupCounts.delete(g)) {
      groupsDirty = true;
    }
  }

  function applyDrone(d, now) {
    if (!d || typeof d !== 'object' || typeof d.id !== 'string') return false;
    d._lat = isNum(d.ts) ? now - d.ts : undefined;
    const old = drones.get(d.id);
    const g = groupOf(d);
    if (!old) {
      addedId(d.id);
      countGroup(g, 1);
    } else {
      const og = groupOf(old);
      if (g !== og) {
        countGroup(og, -1);
        countGroup(g, 1);
        if (filterText || groupFilter !== null) filterDirty = true; // it may enter or leave the filter
      }
    }
    drones.set(d.id, d); // each entry replaces the drone's whole state
    return true;
  }

  function onSnapshot(msg, now) {
    drones.clear();
    groupCounts.clear();
    groupsDirty = true;
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

  // Drones this user may no longer see (moved to a group they do not reach, or deleted).
  function onRemove(msg) {
    if (!Array.isArray(msg.drones)) return;
    for (const id of msg.drones) {
      if (typeof id !== 'string') continue;
      const old = drones.get(id);
      if (!old) continue;
      countGroup(groupOf(old), -1);
      drones.delete(id);
    }
    membershipDirty = membershipReset = true; // ids have gone: re-sort everything
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
      case 'remove':
        onRemove(msg);
        break;
      case 'error':
        notice(`node error${msg.code ? ` [${msg.code}]` : ''}: ${msg.message ?? ''}`);
        break;
      default:
        break; // unknown frame types are ignored (forward compatibility)
    }
  }

  // ---------------------------------------------------------------- REST

  // Errors of the session flow. Stop: the session is over or was replaced (the login form is shown, or a
  // newer session runs); whoever gets it does nothing more. Transient: the node could not be reached or could
  // not answer now; the caller tries again later with the tokens it holds.
  class Stop extends Error {}
  class Transient extends Error {}

  // One JSON request to the node. Resolves to { status, ok, data, headers } for every HTTP answer (data: the
  // parsed JSON body, or null); rejects only when there is no answer (network error, timeout).
  async function request(method, path, { token, body, keepalive } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin', keepalive: !!keepalive };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
    init.signal = ctl.signal;
    try {
      const res = await fetch(path, init);
      const text = res.status === 204 ? '' : await res.text();
      let data = null;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
      return { status: res.status, ok: res.ok, data, headers: res.headers };
    } finally {
      clearTimeout(timer);
    }
  }

  function netMessage(e) {
    return e && e.name === 'AbortError' ? 'no answer within 15 s' : (e && e.message) || 'network error';
  }

  function errorBody(res) {
    const e = res.data && typeof res.data === 'object' ? res.data.error : null;
    return {
      code: e && typeof e.code === 'string' ? e.code : '',
      message: e && typeof e.message === 'string' ? e.message : '',
    };
  }

  function errorText(res) {
    const { code, message } = errorBody(res);
    return `HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  }

  // Retry-After: delay-seconds or an HTTP date. Returns whole seconds, or null when absent/unreadable.
  function retryAfterSeconds(value) {
    if (!value) return null;
    const v = value.trim();
    if (/^\d+$/.test(v)) return parseInt(v, 10);
    const t = Date.parse(v);
    return isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }

  function randomId() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // ---------------------------------------------------------------- session

  let sessionGen = 0; // bumped when a session begins or ends: async work of an older session stops
  let sessionId = null; // random id of this login, stored with the refresh token (see takenByAnotherTab)
  let refreshToken = null; // single use; null = logged out. Mirrored in sessionStorage.
  let refreshExpiresAt = null; // unix seconds, node clock: the login's absolute end
  let accessToken = null; // memory only, never stored, never put in a URL
  let accessExpAt = 0; // page clock, ms
  let refreshDueAt = Infinity; // page clock, ms: renew the access token from then on
  let refreshing = null; // { gen, promise }: the one refresh in flight
  let user = null; // the GET /auth/me answer

  function store() {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage disabled: the session then lives until the tab is reloaded
    }
  }

  function persist() {
    try {
      const s = store();
      if (!s) return;
      if (refreshToken) {
        s.setItem(
          STORE_KEY,
          JSON.stringify({ sid: sessionId, refresh_token: refreshToken, refresh_expires_at: refreshExpiresAt }),
        );
      } else {
        s.removeItem(STORE_KEY);
      }
    } catch {
      /* quota or privacy mode: keep the session in memory only */
    }
  }

  function unpersist() {
    try {
      store()?.removeItem(STORE_KEY);
    } catch {
      /* nothing stored */
    }
  }

  function loadStored() {
    let raw = null;
    try {
      raw = store()?.getItem(STORE_KEY) ?? null;
    } catch {
      return null;
    }
    if (!raw) return null;
    try {
      const v = JSON.parse(raw);
      if (v && typeof v.refresh_token === 'string' && v.refresh_token && typeof v.sid === 'string') return v;
    } catch {
      /* fall through */
    }
    unpersist();
    return null;
  }

  // "Duplicate tab" copies sessionStorage, so two tabs could hold the same single-use refresh token; the
  // second to use it would make the node revoke the whole login. A page that finds a stored session first
  // asks the other tabs of this origin whether one of them is using it, and leaves it alone if so.
  const channel = (() => {
    try {
      return typeof BroadcastChannel === 'function' ? new BroadcastChannel(TAB_CHANNEL) : null;
    } catch {
      return null;
    }
  })();
  if (channel) {
    channel.addEventListener('message', (ev) => {
      const m = ev.data;
      if (m && m.type === 'probe' && sessionId !== null && m.sid === sessionId) {
        channel.postMessage({ type: 'taken', nonce: m.nonce });
      }
    });
  }

  function takenByAnotherTab(sid) {
    if (!channel) return Promise.resolve(false);
    const nonce = randomId();
    return new Promise((resolve) => {
      let timer = 0;
      const onMsg = (ev) => {
        if (ev.data && ev.data.type === 'taken' && ev.data.nonce === nonce) done(true);
      };
      function done(v) {
        clearTimeout(timer);
        channel.removeEventListener('message', onMsg);
        resolve(v);
      }
      channel.addEventListener('message', onMsg);
      timer = setTimeout(() => done(false), 300);
      channel.postMessage({ type: 'probe', sid, nonce });
    });
  }

  function parseGrant(data) {
    if (!data || typeof data !== 'object') return null;
    if (typeof data.access_token !== 'string' || !data.access_token) return null;
    if (typeof data.refresh_token !== 'string' || !data.refresh_token) return null;
    return {
      access_token: data.access_token,
      refresh_token: data.refresh_token,
      // Unknown lifetime: assume a short one (renewing early costs one request).
      expires_in: isNum(data.expires_in) && data.expires_in > 0 ? data.expires_in : 60,
      refresh_expires_at: isNum(data.refresh_expires_at) ? data.refresh_expires_at : null,
    };
  }

  function applyGrant(g) {
    const now = Date.now();
    const life = g.expires_in * 1000;
    accessToken = g.access_token;
    accessExpAt = now + life;
    // Renew a quarter of the lifetime (at most 2 min) before the end: background tabs run timers about
    // once a minute, and the page clock measures from the answer, a little after the node issued it.
    refreshDueAt = now + life - Math.min(120000, life / 4);
    refreshToken = g.refresh_token;
    refreshExpiresAt = g.refresh_expires_at;
    persist();
    renderWho();
    syncUser();
    // The open socket lives as long as the token it was opened with: hand it the new one, so it goes on
    // without a reconnect and a new snapshot (docs/protocol.md, "auth" frame).
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'auth', token: accessToken }));
  }

  // Spends the refresh token for a new pair. At most one refresh per session runs at a time: every caller
  // (early renewal, a 401, a 4001 close, the first connect) shares the one in flight, because the node
  // treats a second use of the same refresh token as theft and revokes the whole login.
  // Resolves to the grant; rejects with Stop (the token was refused: the login form is shown) or Transient.
  function refreshTokens() {
    if (refreshing && refreshing.gen === sessionGen) return refreshing.promise;
    const gen = sessionGen;
    const rt = refreshToken;
    if (!rt) return Promise.reject(new Stop('not logged in'));
    const promise = (async () => {
      // While the token is being spent it is not in storage: a reload in that moment must not find and
      // reuse it (that would revoke the login); it finds nothing and shows the login form instead.
      unpersist();
      let res;
      try {
        res = await request('POST', `${API}/auth/refresh`, { body: { refresh_token: rt } });
      } catch (e) {
        // No answer: the node may or may not have spent it. Keeping it is the only chance to go on; if it
        // was spent, its next use ends the login and the form is shown.
        if (gen === sessionGen) persist();
        throw new Transient(`cannot reach the node to renew the session (${netMessage(e)})`);
      }
      if (res.ok) {
        const g = parseGrant(res.data);
        if (!g) {
          if (gen === sessionGen) endSession('The node answered the session renewal with an unexpected body. Please log in again.');
          throw new Stop('unexpected refresh answer');
        }
        if (gen === sessionGen) applyGrant(g);
        return g;
      }
      if (res.status === 400 || res.status === 401) {
        if (gen === sessionGen) endSession('Your session has ended. Please log in again.');
        throw new Stop(`session refused (${errorText(res)})`);
      }
      if (gen === sessionGen) persist(); // not spent (429, 5xx): put it back
      throw new Transient(`the node could not renew the session (${errorText(res)})`);
    })();
    const entry = { gen, promise };
    refreshing = entry;
    promise
      .finally(() => {
        if (refreshing === entry) refreshing = null;
      })
      .catch(() => {});
    return promise;
  }

  function renewAccess() {
    if (refreshing && refreshing.gen === sessionGen) return;
    refreshTokens().catch((e) => {
      if (e instanceof Transient) {
        refreshDueAt = Date.now() + RENEW_RETRY_MS;
        notice(e.message);
      }
    });
  }

  function renewIfDue() {
    if (refreshToken && accessToken && Date.now() >= refreshDueAt) renewAccess();
  }

  // A REST call with the access token. Renews the token first when it is missing or due for renewal (a
  // fixed share of its lifetime, so a fresh token never counts as due, however short-lived); on a 401 renews
  // once and retries; a second 401 ends the session (login form). Resolves to the answer of any other
  // status; rejects with Stop or Transient.
  async function authed(method, path, body) {
    const gen = sessionGen;
    const check = () => {
      if (gen !== sessionGen) throw new Stop('the session changed');
    };
    if (!accessToken || Date.now() >= refreshDueAt) {
      try {
        await refreshTokens();
      } catch (e) {
        check();
        // A failed early renewal is no reason not to use a token that is still valid.
        if (!(e instanceof Transient) || !accessToken || Date.now() >= accessExpAt) throw e;
      }
      check();
    }
    for (let retried = false; ; retried = true) {
      const token = accessToken;
      let res;
      try {
        res = await request(method, path, { token, body });
      } catch (e) {
        check();
        throw new Transient(`${method} ${path}: ${netMessage(e)}`);
      }
      check();
      if (res.status !== 401) return res;
      if (retried) {
        endSession('The node refused the renewed session. Please log in again.');
        throw new Stop(`${method} ${path}: ${errorText(res)}`);
      }
      // Renew unless another caller already did while this request was under way.
      if (accessToken === token) await refreshTokens();
      check();
    }
  }

  let meRunning = -1; // session generation of the running syncUser loop
  let meAgain = false;

  // Reads GET /auth/me after every new access token (the role or the groups may have changed: 4001).
  async function syncUser() {
    if (meRunning === sessionGen) {
      meAgain = true;
      return;
    }
    const gen = sessionGen;
    meRunning = gen;
    try {
      do {
        meAgain = false;
        const res = await authed('GET', `${API}/auth/me`);
        if (res.ok && res.data && typeof res.data === 'object' && typeof res.data.name === 'string') {
          user = res.data;
          renderWho();
        } else {
          notice(`cannot read the logged-in user (${errorText(res)})`);
        }
      } while (meAgain && gen === sessionGen);
    } catch (e) {
      if (!(e instanceof Stop)) notice(`cannot read the logged-in user: ${e.message}`);
    } finally {
      if (meRunning === gen) meRunning = -1;
    }
  }

  function renderWho() {
    el.who.hidden = !refreshToken;
    const u = user;
    setText(el.whoName, u ? u.name : '…');
    const role = u && typeof u.role === 'string' ? u.role : '';
    setText(el.whoRole, role || '?');
    setClass(el.whoRole, `role ${role === 'admin' || role === 'operator' || role === 'viewer' ? role : ''}`);
    const groups = u && Array.isArray(u.groups) ? u.groups.filter((g) => typeof g === 'string') : [];
    setText(el.whoGroups, groups.length ? `groups: ${groups.join(', ')}` : 'no groups');
    let title = u ? `${u.name} · ${role || 'unknown role'} · ${groups.length ? groups.join(', ') : 'no groups'}` : '';
    if (isNum(refreshExpiresAt)) title += `\nthe login ends ${new Date(refreshExpiresAt * 1000).toLocaleString()}`;
    el.who.title = title;
    groupsDirty = true;
    schedule();
  }

  function resetView() {
    drones.clear();
    groupCounts.clear();
    groupsDirty = true;
    membershipDirty = membershipReset = true;
    newIds = [];
    selectedId = null;
    groupFilter = null;
    el.groupFilter.value = '';
    filterDirty = true;
    latWindow = [];
    framesThisSecond = 0;
    entriesThisSecond = 0;
    latencyText = '–';
    rateText = '–';
    clockOffset = 0;
    attempt = 0;
    everLive = false;
    detailDirty = true;
    markAllDirty();
  }

  function beginSession(g) {
    sessionGen++;
    sessionId = randomId();
    user = null;
    forceRefresh = false;
    resetView();
    applyGrant(g); // stores the refresh token, renders the header, reads /auth/me
    showApp();
    connect();
  }

  // Ends the session locally: forgets the tokens, closes the socket, clears the drones of this user and shows
  // the login form with `message`. (logout() also tells the node.)
  function endSession(message) {
    sessionGen++;
    connectSeq++;
    forceRefresh = false;
    const sock = ws;
    ws = null;
    if (sock) {
      try {
        sock.close(1000, 'logged out');
      } catch {
        /* already closing */
      }
    }
    clearTimeout(reconnectTimer);
    reconnectTimer = 0;
    accessToken = null;
    accessExpAt = 0;
    refreshDueAt = Infinity;
    refreshToken = null;
    refreshExpiresAt = null;
    sessionId = null;
    user = null;
    unpersist();
    resetView();
    notices.length = 0;
    renderNotices();
    renderWho();
    showLogin(message);
  }

  function logout() {
    const at = accessToken;
    const rt = refreshToken;
    const inflight = refreshing && refreshing.gen === sessionGen ? refreshing.promise : null;
    endSession('You are logged out.');
    revokeOnNode(at, rt, inflight);
  }

  // POST /auth/logout for the pair this tab held. A refresh still in flight is waited for (its new pair is
  // the live one); an expired access token (401) is renewed once with the refresh token, then logged out.
  async function revokeOnNode(at, rt, inflight) {
    if (inflight) {
      try {
        const g = await inflight;
        at = g.access_token;
        rt = g.refresh_token;
      } catch (e) {
        if (e instanceof Stop) return; // the node refused that refresh token: nothing left to revoke
      }
    }
    if (!rt) return;
    try {
      if (at) {
        const res = await request('POST', `${API}/auth/logout`, { token: at, body: { refresh_token: rt }, keepalive: true });
        if (res.status !== 401) return;
      }
      const r = await request('POST', `${API}/auth/refresh`, { body: { refresh_token: rt } });
      const g = r.ok ? parseGrant(r.data) : null;
      if (g) {
        await request('POST', `${API}/auth/logout`, {
          token: g.access_token,
          body: { refresh_token: g.refresh_token },
          keepalive: true,
        });
      }
    } catch {
      /* the node is unreachable: the tab has forgotten the tokens anyway */
    }
  }

  // ---------------------------------------------------------------- login form

  let loginBusy = false;
  let loginBlockedUntil = 0; // page clock, ms: 429 Retry-After
  let loginRateLimited = false;

  function showLogin(message) {
    document.body.classList.add('signed-out');
    el.login.hidden = false;
    setLoginError('');
    loginRateLimited = false;
    el.loginMsg.textContent = message || '';
    el.loginMsg.hidden = !message;
    el.loginPass.value = '';
    updateLoginButton();
    (el.loginName.value ? el.loginPass : el.loginName).focus();
  }

  function showApp() {
    document.body.classList.remove('signed-out');
    el.login.hidden = true;
    setLoginError('');
  }

  function setLoginError(text) {
    el.loginError.textContent = text;
    el.loginError.hidden = !text;
  }

  function updateLoginButton() {
    const wait = Math.ceil((loginBlockedUntil - Date.now()) / 1000);
    el.loginSubmit.disabled = loginBusy || wait > 0;
    el.loginSubmit.textContent = loginBusy ? 'Logging in…' : wait > 0 ? `Wait ${fmtAgo(wait)}` : 'Log in';
    if (loginRateLimited) {
      setLoginError(
        wait > 0
          ? `Too many login attempts. Try again in ${fmtAgo(wait)}.`
          : 'Too many login attempts. You can try again now.',
      );
      if (wait <= 0) loginRateLimited = false;
    }
  }

  async function submitLogin(e) {
    e.preventDefault();
    if (loginBusy || refreshToken || Date.now() < loginBlockedUntil) return;
    const name = el.loginName.value.trim();
    const password = el.loginPass.value;
    if (!name || !password) {
      setLoginError('Enter your user name and your password.');
      return;
    }
    if (!location.host) {
      setLoginError('Open this page from the node (http://host:port/), not from a file.');
      return;
    }
    loginBusy = true;
    loginRateLimited = false;
    setLoginError('');
    el.loginMsg.hidden = true;
    updateLoginButton();
    let res = null;
    let failure = null;
    try {
      res = await request('POST', `${API}/auth/login`, { body: { name, password } });
    } catch (err) {
      failure = err;
    }
    loginBusy = false;
    updateLoginButton();
    if (refreshToken) return; // another way in won meanwhile (cannot happen today; be safe)
    if (!res) {
      setLoginError(`Cannot reach the node (${netMessage(failure)}). Check the connection and try again.`);
      return;
    }
    if (res.ok) {
      const g = parseGrant(res.data);
      if (!g) {
        setLoginError('The node answered the login with an unexpected body.');
        return;
      }
      el.loginPass.value = '';
      beginSession(g);
      return;
    }
    const { message } = errorBody(res);
    if (res.status === 401) {
      el.loginPass.value = '';
      el.loginPass.focus();
      setLoginError('Wrong user name or password.');
    } else if (res.status === 429) {
      const s = retryAfterSeconds(res.headers.get('Retry-After'));
      if (s !== null && s > 0) {
        loginBlockedUntil = Date.now() + s * 1000;
        loginRateLimited = true;
        updateLoginButton();
      } else {
        setLoginError('Too many login attempts. Wait a while and try again.');
      }
    } else if (res.status === 400) {
      setLoginError(`The node refused the login request${message ? `: ${message}` : '.'}`);
    } else if (res.status === 503) {
      setLoginError('The node cannot check logins right now (unavailable). Try again in a moment.');
    } else {
      setLoginError(`Login failed (${errorText(res)}).`);
    }
  }

  // ---------------------------------------------------------------- connection

  let ws = null;
  let attempt = 0;
  let everLive = false;
  let reconnectTimer = 0;
  let reconnectAt = 0;
  let connState = '';
  let connectSeq = 0; // each connect() attempt; an older attempt that is still waiting gives up
  let forceRefresh = false; // the node closed with 4001: renew the tokens before the next ticket

  const CLOSE_REASONS = {
    1000: 'normal close',
    1001: 'the node is shutting down',
    1006: 'connection lost or node unreachable',
    1008: 'policy violation',
    1009: 'frame too large',
    1011: 'node internal error',
    4001: 'authentication ended',
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

  // Without the ticket: this is what the page shows; the ticket is added only when the socket is opened.
  function wsUrl() {
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${WS_PATH}`;
  }

  function connect() {
    reconnectTimer = 0;
    if (!refreshToken) return; // logged out: the login form is shown
    if (!location.host) {
      setConn('reconnecting', 'no host');
      notice('open this page from the node (http://host:port/), not from a file');
      return;
    }
    const seq = ++connectSeq;
    openSocket(seq, sessionGen);
  }

  // Every connect and reconnect: (renew the tokens if needed) → POST /auth/ticket → /ws/operator?ticket=…
  async function openSocket(seq, gen) {
    const current = () => seq === connectSeq && gen === sessionGen;
    if (everLive) setConn('reconnecting', 'reconnecting…');
    else setConn('connecting', accessToken ? 'connecting' : 'signing in…');
    let ticket;
    try {
      if (forceRefresh) {
        await refreshTokens();
        forceRefresh = false;
      }
      const res = await authed('POST', `${API}/auth/ticket`);
      if (!res.ok) throw new Transient(`no WebSocket ticket (${errorText(res)})`);
      ticket = res.data && typeof res.data === 'object' ? res.data.ticket : undefined;
      if (typeof ticket !== 'string' || !ticket) throw new Transient('the node answered the ticket request without a ticket');
    } catch (e) {
      if (!current() || e instanceof Stop) return;
      notice(`cannot connect: ${e.message}`);
      scheduleReconnect();
      return;
    }
    if (!current()) return;
    let sock;
    try {
      sock = new WebSocket(`${wsUrl()}?ticket=${encodeURIComponent(ticket)}`);
    } catch (e) {
      notice(`cannot open ${wsUrl()}: ${e.message}`);
      scheduleReconnect();
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      if (ws !== sock) return;
      opened = true;
      sock.send(JSON.stringify({ type: 'subscribe', drones: '*' }));
    };
    sock.onmessage = (ev) => {
      if (ws === sock) onFrame(ev.data);
    };
    sock.onerror = () => {}; // a close event follows and handles it
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (ev.code === 4001) {
        // Token expired, logged out elsewhere, user disabled or role changed: renew, then reconnect with a
        // new ticket (if the renewal is refused, the login form is shown). Routine, so no notice.
        forceRefresh = true;
      } else if (!opened) {
        // Refused upgrades (e.g. HTTP 401 for a bad ticket) look like any failed connection to a browser.
        notice('the WebSocket did not open (ticket refused or node unreachable); retrying with a new ticket');
      } else {
        const why = CLOSE_REASONS[ev.code] ?? 'closed';
        notice(`connection closed (${ev.code} ${why}${ev.reason ? `: ${ev.reason}` : ''})`);
      }
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
    renewIfDue();
    if (!el.login.hidden && (loginRateLimited || el.loginSubmit.disabled)) updateLoginButton();
    // "last seen" ages and the detail panel move with the clock.
    tableDirty = headerDirty = detailDirty = true;
    schedule();
  }

  // ---------------------------------------------------------------- start

  // A reload of the tab finds the refresh token in sessionStorage and goes on with it (the access token was
  // only in memory, so the first connect renews the pair); otherwise the login form is shown.
  async function start() {
    if (!location.host) {
      showLogin('Open this page from the node (http://host:port/), not from a file.');
      return;
    }
    const stored = loadStored();
    if (!stored) {
      showLogin('');
      return;
    }
    if (await takenByAnotherTab(stored.sid)) {
      unpersist();
      showLogin('This tab is a copy of another tab that is logged in, and a login can be used by one tab only. Log in again here.');
      return;
    }
    if (refreshToken) return;
    sessionGen++;
    sessionId = stored.sid;
    refreshToken = stored.refresh_token;
    refreshExpiresAt = isNum(stored.refresh_expires_at) ? stored.refresh_expires_at : null;
    user = null;
    showApp();
    renderWho();
    connect(); // no access token yet: renews the pair, which also reads /auth/me
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
  el.groupFilter.addEventListener('change', () => {
    groupFilter = el.groupFilter.value === '' ? null : el.groupFilter.value;
    filterDirty = true;
    schedule();
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
  el.loginForm.addEventListener('submit', submitLogin);
  el.logout.addEventListener('click', logout);
  new ResizeObserver(() => {
    mapDirty = true;
    schedule();
  }).observe(el.map);
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    renewIfDue(); // timers of a background tab may have run late
    reconnectNow();
  });

  setInterval(tick, 1000);
  schedule();
  start();
})();
