/**
 * `anneal view`: a small read-only web server over a folder of runs. The page lists the runs
 * (their summary rows), shows the charts of all runs overlaid or of the one clicked, and
 * redraws them when a run's log.jsonl grows (the server polls file sizes and tells the page by
 * server-sent events). Charts are rendered to SVG here, so the page loads nothing from the
 * network.
 *
 * Safety: only GET and HEAD; it binds 127.0.0.1 unless told otherwise; it answers only requests
 * whose Host is a loopback name (localhost, 127.x.x.x, [::1], any port; or, when bound to
 * another address, an IP address), so a page on another site cannot read it through DNS
 * rebinding (others get 403); /files/ serves regular files under the runs folder only: each URL
 * segment is decoded and checked (no '..', '.', empty, hidden, or containing a slash, backslash
 * or NUL), and the real path (symlinks followed) must still lie under the folder's real path.
 * Anything else is 404. A run that cannot be read (a corrupt summary.json, say) is skipped, not
 * fatal: /api/runs lists the others and names it in its X-Anneal-Skipped header, the charts
 * note it, and the server warns once on stderr.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
import { escapeHtml, renderSection, renderTable, REPORT_CSS } from './html.js';
import { runSections, summaryRow, type RunReportOptions } from './run-report.js';
import { findRuns, loadRun, type RunData } from './runs.js';

export interface ViewerOptions {
  /** The folder of runs to serve. */
  runsDir: string;
  /** Port (default 6006; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1, loopback only). */
  host?: string;
  /** How often to look for grown logs and new runs, in ms (default 1000). */
  pollMs?: number;
  /** The x axis of the training curves. */
  x?: RunReportOptions['x'];
  /** Where warnings go (a run skipped as unreadable); default: a line on stderr. */
  warn?: (message: string) => void;
}

/** A run the viewer could not read, left out of the list: its name and why. */
export interface SkippedRun {
  /** The run's path relative to the runs folder, as it is named in the list. */
  path: string;
  reason: string;
}

/** The header of /api/runs naming the runs left out: URI-encoded JSON of SkippedRun[]. */
export const SKIPPED_HEADER = 'X-Anneal-Skipped';

export interface Viewer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.html': 'text/html; charset=utf-8',
};

/**
 * The file under `root` a /files/ URL path names, or undefined when it names nothing there
 * (bad encoding, dot segments, hidden names, separators inside a segment, or a symlink out).
 */
export function resolveServedFile(root: string, urlPath: string): string | undefined {
  const segments = urlPath.split('/');
  const decoded: string[] = [];
  for (const raw of segments) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (s === '' || s === '.' || s === '..' || s.startsWith('.') || /[/\\\0]/.test(s))
      return undefined;
    decoded.push(s);
  }
  if (decoded.length === 0) return undefined;
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(join(realRoot, ...decoded));
  } catch {
    return undefined;
  }
  if (!real.startsWith(realRoot + sep)) return undefined;
  try {
    if (!statSync(real).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return real;
}

function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

const notFound = (res: ServerResponse, head: boolean) =>
  send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;
const IP_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Whether a request's Host header may be answered by a viewer bound to `bound`: a loopback name
 * always; an IP address too when the viewer was bound to another address (--host), so it can be
 * opened by address from the network. A DNS-rebinding page always sends its own host name, which
 * is neither.
 */
export function isAllowedHost(host: string | undefined, bound: string): boolean {
  if (host === undefined) return false;
  if (LOOPBACK_HOST.test(host)) return true;
  return !LOOPBACK_ADDRESSES.has(bound) && IP_HOST.test(host);
}

/** An error's message as one line of at most 300 characters. */
function reasonOf(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** A fingerprint of what the run's charts are drawn from: sizes and times of its files. */
function fingerprint(path: string): string {
  const parts: string[] = [];
  for (const name of ['log.jsonl', 'summary.json', 'config.json']) {
    try {
      const st = statSync(join(path, name));
      parts.push(`${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

export async function startViewer(opts: ViewerOptions): Promise<Viewer> {
  const root = resolve(opts.runsDir);
  const pollMs = opts.pollMs ?? 1000;
  const host = opts.host ?? '127.0.0.1';
  const warn =
    opts.warn ?? ((message: string) => process.stderr.write(`anneal view: ${message}\n`));

  /** Runs by name (their path relative to the runs folder, '.' for the folder itself). */
  const runs = (): Map<string, string> =>
    new Map(findRuns(root).map((p) => [relative(root, p).split(sep).join('/') || '.', p]));

  /** Why each unreadable run was skipped, as last warned (so each is warned once). */
  const warned = new Map<string, string>();
  /**
   * Loads the runs named (and gives each to `use`, which may throw too), skipping those that
   * cannot be read instead of failing them all.
   */
  function load<T>(
    names: string[],
    all: Map<string, string>,
    use: (run: RunData) => T,
  ): { loaded: T[]; skipped: SkippedRun[] } {
    const loaded: T[] = [];
    const skipped: SkippedRun[] = [];
    for (const name of names) {
      const path = all.get(name)!;
      try {
        loaded.push(use(loadRun(path, name)));
        warned.delete(name);
      } catch (e) {
        const reason = reasonOf(e);
        skipped.push({ path: name, reason });
        if (warned.get(name) !== reason) warn(`skipped run ${path}: ${reason}`);
        warned.set(name, reason);
      }
    }
    return { loaded, skipped };
  }

  const cache = new Map<string, string>();
  async function chartsHtml(names: string[], all: Map<string, string>): Promise<string> {
    const key = names.map((n) => `${n}=${fingerprint(all.get(n)!)}`).join('&');
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const { loaded, skipped } = load(names, all, (run) => ({ run, row: summaryRow(run) }));
    const runsLoaded = loaded.map((l) => l.run);
    const sections = runsLoaded.length > 0 ? await runSections(runsLoaded, { x: opts.x }) : [];
    const rows = loaded.map((l) => l.row);
    const html = [
      `<h2>${escapeHtml(names.length === 1 ? names[0] : 'All runs')}</h2>`,
      ...skipped.map(
        (s) => `<p class="skipped">Skipped ${escapeHtml(s.path)}: ${escapeHtml(s.reason)}</p>`,
      ),
      rows.length > 0 ? renderTable(rows, 'table summary') : '',
      ...sections.map((s) => renderSection(s)),
    ]
      .filter((part) => part !== '')
      .join('\n');
    if (cache.size > 32) cache.clear();
    cache.set(key, html);
    return html;
  }

  const clients = new Set<ServerResponse>();
  let seen = new Map<string, string>();
  const poll = setInterval(() => {
    if (clients.size === 0) return;
    const all = runs();
    const now = new Map([...all].map(([n, p]) => [n, fingerprint(p)]));
    const changed = [...now].filter(([n, f]) => seen.get(n) !== f).map(([n]) => n);
    const removed = [...seen.keys()].filter((n) => !now.has(n));
    seen = now;
    if (changed.length === 0 && removed.length === 0) return;
    const message = `event: change\ndata: ${JSON.stringify({ runs: changed, removed })}\n\n`;
    for (const res of clients) res.write(message);
  }, pollMs);
  poll.unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (!isAllowedHost(req.headers.host, host)) {
      const { port } = server.address() as AddressInfo;
      const body =
        'forbidden: this viewer answers only to a loopback host name (a guard against DNS ' +
        `rebinding); open http://127.0.0.1:${port}/ or http://localhost:${port}/\n`;
      return send(res, 403, 'text/plain; charset=utf-8', body, head);
    }
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('read-only\n');
      return;
    }
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));

    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', viewerPage(root), head);
    if (path === '/api/runs') {
      const all = runs();
      const { loaded, skipped } = load([...all.keys()], all, (r) => ({
        name: r.name,
        row: summaryRow(r),
        files: r.files,
      }));
      // The body stays the list of runs; the runs left out go in a header, at most 20 of them.
      const shown = skipped.slice(0, 20);
      if (skipped.length > shown.length)
        shown.push({ path: '...', reason: `and ${skipped.length - shown.length} more` });
      res.setHeader(SKIPPED_HEADER, encodeURIComponent(JSON.stringify(shown)));
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(loaded), head);
    }
    if (path === '/api/charts') {
      const all = runs();
      const asked = query.getAll('run');
      const names = asked.length > 0 ? asked : [...all.keys()];
      if (names.some((n) => !all.has(n))) return notFound(res, head);
      const html = names.length > 0 ? await chartsHtml(names, all) : '<p>No runs yet.</p>';
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ html }), head);
    }
    if (path === '/api/events' && !head) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write(`retry: ${pollMs}\n\n`);
      if (clients.size === 0) seen = new Map([...runs()].map(([n, p]) => [n, fingerprint(p)]));
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (path.startsWith('/files/')) {
      const file = resolveServedFile(root, path.slice('/files/'.length));
      if (file === undefined) return notFound(res, head);
      const size = statSync(file).size;
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': size,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-store',
      });
      if (head) res.end();
      else createReadStream(file).pipe(res);
      return;
    }
    notFound(res, head);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        send(res, 500, 'text/plain; charset=utf-8', `error: ${(e as Error).message}\n`);
      else res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 6006, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        clearInterval(poll);
        for (const res of clients) res.end();
        clients.clear();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The viewer's page: the run list, the charts, and a little script to click and refresh. */
function viewerPage(root: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>anneal view: ${escapeHtml(root)}</title>
<style>${REPORT_CSS}
.layout { display: flex; min-height: 100vh; }
aside { width: 240px; flex: none; background: #f0f0f0; border-right: 1px solid #ddd; padding: 12px; font-size: 13px; }
aside h1 { font-size: 16px; }
aside ul { list-style: none; padding: 0; margin: 0; }
aside li a { display: block; padding: 4px 6px; border-radius: 4px; color: #222; text-decoration: none; word-break: break-all; }
aside li a:hover { background: #e2e2e2; }
aside li a.selected { background: #2a5db0; color: white; }
aside .status { color: #777; font-size: 11px; }
aside li a.selected .status { color: #dde; }
aside li.skipped { padding: 4px 6px; color: #a33; word-break: break-all; }
main { flex: 1; min-width: 0; }
#live { color: #777; font-size: 12px; }
</style>
</head>
<body>
<div class="layout">
<aside>
<h1>anneal view</h1>
<p class="status">${escapeHtml(root)}</p>
<ul id="runs"><li><a href="#" data-run="" class="selected">All runs</a></li></ul>
<p id="live">connecting...</p>
</aside>
<main id="content"><p>Loading...</p></main>
</div>
<script>
const state = { selected: decodeURIComponent(location.hash.slice(1)) };
const list = document.getElementById('runs');
const content = document.getElementById('content');
const live = document.getElementById('live');
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
async function loadRuns() {
  const res = await fetch('/api/runs');
  const runs = await res.json();
  const skipped = JSON.parse(decodeURIComponent(res.headers.get('${SKIPPED_HEADER}') || '%5B%5D'));
  list.replaceChildren();
  const all = el('a', { href: '#', 'data-run': '' }, 'All runs');
  list.append(el('li')); list.lastChild.append(all);
  for (const r of runs) {
    const a = el('a', { href: '#' + encodeURIComponent(r.name), 'data-run': r.name }, r.name);
    const s = el('div', { class: 'status' }, [r.row.status, r.row.accuracy == null ? '' : 'accuracy ' + (100 * Number(r.row.accuracy)).toFixed(2) + '%'].filter(Boolean).join(', '));
    a.append(s);
    const li = el('li'); li.append(a); list.append(li);
  }
  for (const s of skipped) {
    const li = el('li', { class: 'skipped', title: s.reason });
    li.append(el('span', {}, s.path), el('div', { class: 'status' }, 'skipped: cannot be read'));
    list.append(li);
  }
  for (const a of list.querySelectorAll('a')) a.classList.toggle('selected', a.dataset.run === state.selected);
}
let showing = 0;
async function show() {
  const id = ++showing;
  const q = state.selected ? '?run=' + encodeURIComponent(state.selected) : '';
  const res = await fetch('/api/charts' + q);
  if (id !== showing) return;
  if (!res.ok) { content.replaceChildren(el('p', {}, 'No run named ' + state.selected)); return; }
  const { html } = await res.json();
  content.innerHTML = html;
  content.dataset.shown = state.selected || '*';
}
list.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a) return;
  e.preventDefault();
  state.selected = a.dataset.run;
  history.replaceState(null, '', state.selected ? '#' + encodeURIComponent(state.selected) : '#');
  for (const x of list.querySelectorAll('a')) x.classList.toggle('selected', x === a);
  show();
});
const events = new EventSource('/api/events');
events.addEventListener('open', () => { live.textContent = 'live: redraws as logs grow'; });
events.addEventListener('error', () => { live.textContent = 'not connected (retrying)'; });
events.addEventListener('change', (e) => {
  const { runs, removed } = JSON.parse(e.data);
  loadRuns();
  if (!state.selected || runs.includes(state.selected) || removed.includes(state.selected)) show();
});
loadRuns().then(show);
</script>
</body>
</html>
`;
}

/** True when `dir` exists and is a directory (the viewer may start before any run does). */
export function isDirectory(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}
