// Where a page's time went, from a Chromium trace (devtools.timeline categories) and a V8 CPU profile: used by
// bench/web.mjs (WEB_PROFILE=1) to name the top costs of the fleet page.

/** Trace event names by the kind of work they are (the DevTools Performance panel's grouping, roughly). */
const KINDS = [
  ['script', /^(FunctionCall|EvaluateScript|TimerFire|FireAnimationFrame|EventDispatch|RunMicrotasks|v8\.|V8\.|v8::|RequestAnimationFrame|XHRReadyStateChange|XHRLoad|ParseScriptOnBackground|Compile|CompileCode|CompileModule|CacheScript|WebSocketReceive|HandlePostMessage|RunTask\.FunctionCall|ScheduleStyleRecalculation|FireIdleCallback|BlinkGC\.|BlinkGC|ThreadState::|MinorGC|MajorGC|GCEvent|ScavengeTask|MajorGCTask|MinorGCTask)/],
  ['style', /^(UpdateLayoutTree|RecalculateStyles|ParseAuthorStyleSheet|StyleInvalidator|InvalidateLayout|ScheduleStyleInvalidationTracking|StyleRecalcInvalidationTracking)/],
  ['layout', /^(Layout|UpdateLayerTree|HitTest|LayoutInvalidationTracking|IntersectionObserverController|ResizeObserverController|LocalFrameView::RunPostLifecycleSteps|UpdateLayer)/],
  ['paint', /^(Paint|PrePaint|PaintImage|Layerize|CompositeLayers|Commit|UpdateLayers|PaintSetup|Decode|Rasterize|RasterTask|ImageDecodeTask|Canvas|GPUTask|ProxyMain::|ProxyImpl::|LayerTreeHost|cc::|Draw|Display|Skia|OffscreenCanvas|CanvasResourceProvider|Canvas2DLayerBridge)/],
];

function kindOf(name) {
  for (const [kind, re] of KINDS) if (re.test(name)) return kind;
  return 'other';
}

/**
 * Self time (ms) per event name on each thread of the trace, from complete ('X') and begin/end ('B'/'E') events;
 * busy = the time inside top-level events. Answers { threads: [{ pid, tid, name, process, busyMs, self: Map }] }.
 */
export function summarizeTrace(events) {
  const threadNames = new Map();
  const processNames = new Map();
  const perThread = new Map();
  for (const e of events) {
    if (e.ph === 'M') {
      if (e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, e.args?.name);
      if (e.name === 'process_name') processNames.set(e.pid, e.args?.name);
      continue;
    }
    if (e.ph !== 'X' && e.ph !== 'B' && e.ph !== 'E') continue;
    const key = `${e.pid}:${e.tid}`;
    let list = perThread.get(key);
    if (!list) perThread.set(key, (list = []));
    list.push(e);
  }
  const threads = [];
  for (const [key, list] of perThread) {
    // B/E pairs into intervals (per thread, properly nested by construction).
    const intervals = [];
    const open = [];
    for (const e of list.sort((a, b) => a.ts - b.ts)) {
      if (e.ph === 'X') intervals.push({ name: e.name, ts: e.ts, end: e.ts + (e.dur ?? 0), args: e.args });
      else if (e.ph === 'B') open.push(e);
      else if (e.ph === 'E') {
        const b = open.pop();
        if (b) intervals.push({ name: b.name, ts: b.ts, end: e.ts, args: b.args });
      }
    }
    intervals.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const self = new Map();
    const count = new Map();
    const stack = [];
    let busy = 0;
    const close = (iv) => {
      const s = iv.end - iv.ts - iv.children;
      self.set(iv.name, (self.get(iv.name) ?? 0) + s);
      count.set(iv.name, (count.get(iv.name) ?? 0) + 1);
    };
    for (const iv of intervals) {
      while (stack.length && stack[stack.length - 1].end <= iv.ts) close(stack.pop());
      iv.children = 0;
      const parent = stack[stack.length - 1];
      if (parent) {
        const d = Math.min(iv.end, parent.end) - iv.ts;
        parent.children += d;
        iv.end = Math.min(iv.end, parent.end);
      } else busy += iv.end - iv.ts;
      stack.push(iv);
    }
    while (stack.length) close(stack.pop());
    const [pid] = key.split(':');
    const selfMs = new Map([...self].map(([n, us]) => [n, us / 1000]));
    threads.push({ key, pid: Number(pid), name: threadNames.get(key) ?? '?', process: processNames.get(Number(pid)) ?? '?', busyMs: busy / 1000, self: selfMs, count });
  }
  threads.sort((a, b) => b.busyMs - a.busyMs);
  return { threads };
}

/** The page's main thread: the busiest CrRendererMain. */
export function mainThread(summary) {
  return summary.threads.find((t) => t.name === 'CrRendererMain');
}

/** Self time per kind (script, style, layout, paint, other) of one thread's summary. */
export function byKind(thread) {
  const out = { script: 0, style: 0, layout: 0, paint: 0, other: 0 };
  for (const [name, ms] of thread.self) out[kindOf(name)] += ms;
  return out;
}

/** The top `n` event names by self time: [{ name, kind, ms, count }]. */
export function topEvents(thread, n = 20) {
  return [...thread.self]
    .map(([name, ms]) => ({ name, kind: kindOf(name), ms, count: thread.count.get(name) ?? 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}

/**
 * Self time per function of a V8 CPU profile (Profiler.stop's `profile`): [{ fn, url, line, ms }], the top `n`.
 * Positions are 1-based lines of the bundle as served.
 */
export function topFunctions(profile, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const ms = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    ms.set(samples[i], (ms.get(samples[i]) ?? 0) + dt);
  }
  const byFn = new Map();
  for (const [id, t] of ms) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    const key = `${cf.functionName || '(anonymous)'}|${cf.url.split('/').pop()}|${cf.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
  }
  return [...byFn]
    .map(([key, t]) => {
      const [fn, url, line] = key.split('|');
      return { fn, url, line: Number(line), ms: t };
    })
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}
