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
 *
 * Searches (src/report/search-view.ts): a folder `anneal search` made gets a section of its own
 * (title line, search-progress chart, trials table; /api/searches has the same as JSON), its
 * trial directories are listed as runs with the status search.json gives them, and a rewritten
 * search.json (a job finished) counts as a change of the search and of its trials. A search.json
 * that cannot be read is skipped like a run.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { escapeHtml, renderSection, renderTable, REPORT_CSS } from './html.js';
import { runSections, summaryRow, type RunReportOptions } from './run-report.js';
import { findRuns, loadRun, type RunData } from './runs.js';
import {
  findSearches,
  readSearch,
  SEARCH_FILE,
  searchFingerprint,
  searchSectionHtml,
  searchSummary,
  searchTrialDirs,
  trialRow,
  type TrialOf,
} from './search-view.js';
import { trialDir, type SearchResult } from '../search/search.js';

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

/**
 * The header of /api/runs and /api/searches naming the runs (or searches' search.json) left out:
 * URI-encoded JSON of SkippedRun[].
 */
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

/** Names the runs (or search.json files) left out in a header, at most 20 of them. */
function setSkipped(res: ServerResponse, skipped: SkippedRun[]): void {
  const shown = skipped.slice(0, 20);
  if (skipped.length > shown.length)
    shown.push({ path: '...', reason: `and ${skipped.length - shown.length} more` });
  res.setHeader(SKIPPED_HEADER, encodeURIComponent(JSON.stringify(shown)));
}

const skippedHtml = (s: SkippedRun) =>
  `<p class="skipped">Skipped ${escapeHtml(s.path)}: ${escapeHtml(s.reason)}</p>`;

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
function runFingerprint(path: string): string {
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

/** What the runs folder holds now: runs and searches by name, and which runs are trials. */
interface Scan {
  /** Run paths by name (relative to the runs folder, '.' for the folder itself). */
  runs: Map<string, string>;
  /** Search folders by name. */
  searches: Map<string, string>;
  /** The runs that are trials of a search. */
  trials: Map<string, TrialOf>;
}

export async function startViewer(opts: ViewerOptions): Promise<Viewer> {
  const root = resolve(opts.runsDir);
  const pollMs = opts.pollMs ?? 1000;
  const host = opts.host ?? '127.0.0.1';
  const warn =
    opts.warn ?? ((message: string) => process.stderr.write(`anneal view: ${message}\n`));

  /** A path's name in the viewer: relative to the runs folder, '.' for the folder itself. */
  const nameOf = (path: string) => relative(root, path).split(sep).join('/') || '.';

  function scan(): Scan {
    const runs = new Map(findRuns(root).map((p) => [nameOf(p), p]));
    const searches = new Map(findSearches(root).map((p) => [nameOf(p), p]));
    const trials = new Map<string, TrialOf>();
    let added = false;
    for (const [search, searchPath] of searches) {
      for (const [trial, path] of searchTrialDirs(searchPath)) {
        const name = nameOf(path);
        // A search deeper than findRuns looks still shows its trials.
        if (!runs.has(name)) {
          runs.set(name, path);
          added = true;
        }
        trials.set(name, { search, trial });
      }
    }
    return {
      runs: added ? new Map([...runs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) : runs,
      searches,
      trials,
    };
  }

  /** A run's fingerprint; a trial's includes its search.json, which holds the trial's status. */
  function fingerprint(name: string, s: Scan): string {
    const trial = s.trials.get(name);
    const own = runFingerprint(s.runs.get(name)!);
    return trial ? `${own}|${searchFingerprint(s.searches.get(trial.search)!)}` : own;
  }

  /** Why each unreadable run (or search.json) was skipped, as last warned (each warned once). */
  const warned = new Map<string, string>();
  function noteSkipped(name: string, path: string, e: unknown, skipped: SkippedRun[]): void {
    const reason = reasonOf(e);
    skipped.push({ path: name, reason });
    if (warned.get(name) !== reason) warn(`skipped ${path}: ${reason}`);
    warned.set(name, reason);
  }
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
        noteSkipped(name, `run ${path}`, e, skipped);
      }
    }
    return { loaded, skipped };
  }

  /**
   * The records of the searches named (null: no job finished yet); one whose search.json cannot
   * be read is left out and named in `skipped` as '<search>/search.json'.
   */
  function loadSearches(
    names: string[],
    s: Scan,
  ): { results: Map<string, SearchResult | null>; skipped: SkippedRun[] } {
    const results = new Map<string, SearchResult | null>();
    const skipped: SkippedRun[] = [];
    for (const name of names) {
      const key = name === '.' ? SEARCH_FILE : `${name}/${SEARCH_FILE}`;
      try {
        results.set(name, readSearch(s.searches.get(name)!));
        warned.delete(key);
      } catch (e) {
        noteSkipped(key, `search ${join(s.searches.get(name)!, SEARCH_FILE)}`, e, skipped);
      }
    }
    return { results, skipped };
  }

  /** A run's summary row; a trial's status, budget and accuracy come from its search. */
  function rowOf(run: RunData, s: Scan, results: Map<string, SearchResult | null>) {
    const row = summaryRow(run);
    const trial = s.trials.get(run.name);
    if (!trial) return row;
    return trialRow(row, trial.trial, results.get(trial.search));
  }

  /** A search's summary, titled by the folder's own name when the runs folder is the search. */
  const summaryOf = (name: string, result: SearchResult | null, s: Scan) =>
    searchSummary(name, result, trialRunOf(s, name), name === '.' ? basename(root) : name);

  /** The viewer's run name of a search's trial directory, or null when there is none. */
  function trialRunOf(s: Scan, search: string): (trial: number) => string | null {
    return (trial) => {
      const name = nameOf(trialDir(s.searches.get(search)!, trial));
      return s.runs.has(name) ? name : null;
    };
  }

  /** The searches of the runs named (for their trials' rows). */
  function searchesOf(names: string[], s: Scan): string[] {
    const found = new Set<string>();
    for (const n of names) {
      const t = s.trials.get(n);
      if (t) found.add(t.search);
    }
    return [...found];
  }

  const cache = new Map<string, string>();
  function remember(key: string, html: string): string {
    if (cache.size > 32) cache.clear();
    cache.set(key, html);
    return html;
  }

  async function chartsHtml(names: string[], s: Scan): Promise<string> {
    const key = names.map((n) => `${n}=${fingerprint(n, s)}`).join('&');
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const searches = loadSearches(searchesOf(names, s), s);
    const { loaded, skipped } = load(names, s.runs, (run) => ({
      run,
      row: rowOf(run, s, searches.results),
    }));
    const runsLoaded = loaded.map((l) => l.run);
    const sections = runsLoaded.length > 0 ? await runSections(runsLoaded, { x: opts.x }) : [];
    const rows = loaded.map((l) => l.row);
    const html = [
      `<h2>${escapeHtml(names.length === 1 ? names[0] : 'All runs')}</h2>`,
      ...skipped.map(skippedHtml),
      rows.length > 0 ? renderTable(rows, 'table summary') : '',
      ...sections.map((section) => renderSection(section)),
    ]
      .filter((part) => part !== '')
      .join('\n');
    return remember(key, html);
  }

  /** The sections of the searches named: title line, search-progress chart, trials table. */
  async function searchesHtml(names: string[], s: Scan): Promise<string> {
    const parts: string[] = [];
    for (const name of names) {
      const key = `search ${name}=${searchFingerprint(s.searches.get(name)!)}`;
      let html = cache.get(key);
      if (html === undefined) {
        const { results, skipped } = loadSearches([name], s);
        html = results.has(name)
          ? await searchSectionHtml(summaryOf(name, results.get(name)!, s), results.get(name)!)
          : skipped.map(skippedHtml).join('\n');
        remember(key, html);
      }
      parts.push(html);
    }
    return parts.join('\n');
  }

  /** Fingerprints of every run and every search.json, by name. */
  function fingerprints() {
    const s = scan();
    return {
      runs: new Map([...s.runs.keys()].map((n) => [n, fingerprint(n, s)])),
      searches: new Map([...s.searches].map(([n, p]) => [n, searchFingerprint(p)])),
    };
  }
  const differences = (before: Map<string, string>, now: Map<string, string>) => ({
    changed: [...now].filter(([n, f]) => before.get(n) !== f).map(([n]) => n),
    removed: [...before.keys()].filter((n) => !now.has(n)),
  });

  const clients = new Set<ServerResponse>();
  let seen = { runs: new Map<string, string>(), searches: new Map<string, string>() };
  const poll = setInterval(() => {
    if (clients.size === 0) return;
    const now = fingerprints();
    const runs = differences(seen.runs, now.runs);
    const searches = differences(seen.searches, now.searches);
    seen = now;
    const count = (d: { changed: string[]; removed: string[] }) =>
      d.changed.length + d.removed.length;
    if (count(runs) + count(searches) === 0) return;
    const data = {
      runs: runs.changed,
      removed: runs.removed,
      searches: searches.changed,
      removedSearches: searches.removed,
    };
    const message = `event: change\ndata: ${JSON.stringify(data)}\n\n`;
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
      const s = scan();
      const searches = loadSearches(searchesOf([...s.runs.keys()], s), s);
      const { loaded, skipped } = load([...s.runs.keys()], s.runs, (r) => {
        const trial = s.trials.get(r.name);
        return {
          name: r.name,
          row: rowOf(r, s, searches.results),
          files: r.files,
          ...(trial ? { search: trial.search, trial: trial.trial } : {}),
        };
      });
      setSkipped(res, [...searches.skipped, ...skipped]);
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(loaded), head);
    }
    if (path === '/api/searches') {
      const s = scan();
      const { results, skipped } = loadSearches([...s.searches.keys()], s);
      const body = [...results].map(([name, result]) => summaryOf(name, result, s));
      setSkipped(res, skipped);
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body), head);
    }
    if (path === '/api/charts') {
      const s = scan();
      const asked = query.getAll('run');
      const askedSearches = query.getAll('search');
      if (asked.some((n) => !s.runs.has(n)) || askedSearches.some((n) => !s.searches.has(n)))
        return notFound(res, head);
      const everything = asked.length === 0 && askedSearches.length === 0;
      const names = everything ? [...s.runs.keys()] : asked;
      const searchNames = everything ? [...s.searches.keys()] : askedSearches;
      const parts = [
        searchNames.length > 0 ? await searchesHtml(searchNames, s) : '',
        names.length > 0 ? await chartsHtml(names, s) : '',
      ].filter((p) => p !== '');
      const html = parts.length > 0 ? parts.join('\n') : '<p>No runs yet.</p>';
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ html }), head);
    }
    if (path === '/api/events' && !head) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write(`retry: ${pollMs}\n\n`);
      if (clients.size === 0) seen = fingerprints();
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
aside h2 { font-size: 13px; margin: 12px 0 4px; color: #555; }
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
<h2 id="searches-title" hidden>Searches</h2>
<ul id="searches"></ul>
<h2>Runs</h2>
<ul id="runs"><li><a href="#" data-run="" class="selected">All runs</a></li></ul>
<p id="live">connecting...</p>
</aside>
<main id="content"><p>Loading...</p></main>
</div>
<script>
// The selection: '' for all runs, a run's name, or a search's ('#search=' + its name: a run's
// hash is its encoded name, which never holds a raw '=').
const hash = location.hash.slice(1);
const state = hash.startsWith('search=')
  ? { kind: 'search', name: decodeURIComponent(hash.slice(7)) }
  : { kind: 'run', name: decodeURIComponent(hash) };
const list = document.getElementById('runs');
const searchList = document.getElementById('searches');
const content = document.getElementById('content');
const live = document.getElementById('live');
const percent = (x) => (100 * Number(x)).toFixed(2) + '%';
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const skippedOf = (res) => JSON.parse(decodeURIComponent(res.headers.get('${SKIPPED_HEADER}') || '%5B%5D'));
function skippedItem(s) {
  const li = el('li', { class: 'skipped', title: s.reason });
  li.append(el('span', {}, s.path), el('div', { class: 'status' }, 'skipped: cannot be read'));
  return li;
}
function item(ul, attrs, text, status) {
  const a = el('a', attrs, text);
  a.append(el('div', { class: 'status' }, status));
  const li = el('li'); li.append(a); ul.append(li);
}
function markSelected() {
  for (const a of document.querySelectorAll('aside a')) {
    a.classList.toggle('selected', state.kind === 'search'
      ? a.dataset.search === state.name
      : a.dataset.run === state.name);
  }
}
async function loadRuns() {
  const [res, sres] = await Promise.all([fetch('/api/runs'), fetch('/api/searches')]);
  const runs = await res.json();
  const searches = await sres.json();
  list.replaceChildren();
  item(list, { href: '#', 'data-run': '' }, 'All runs', '');
  for (const r of runs) {
    const accuracy = r.row.accuracy != null ? 'accuracy ' + percent(r.row.accuracy)
      : r.row['validation accuracy'] != null ? 'validation accuracy ' + percent(r.row['validation accuracy']) : '';
    item(list, { href: '#' + encodeURIComponent(r.name), 'data-run': r.name }, r.name,
      [r.row.status, accuracy].filter(Boolean).join(', '));
  }
  const searchesSkipped = skippedOf(sres);
  // A search.json left out is shown under the searches, not again under the runs.
  for (const s of skippedOf(res)) if (!searchesSkipped.some((x) => x.path === s.path)) list.append(skippedItem(s));
  searchList.replaceChildren();
  for (const s of searches) {
    const best = s.best ? ', best ' + percent(s.best.score) : '';
    item(searchList, { href: '#search=' + encodeURIComponent(s.name), 'data-search': s.name }, s.name,
      (s.scheduler || 'search') + ', ' + s.status + ': ' + s.done + '/' + s.trials + ' trials done' + best);
  }
  for (const s of searchesSkipped) searchList.append(skippedItem(s));
  document.getElementById('searches-title').hidden = searchList.children.length === 0;
  markSelected();
}
let showing = 0;
async function show() {
  const id = ++showing;
  const q = !state.name ? '' : '?' + state.kind + '=' + encodeURIComponent(state.name);
  const res = await fetch('/api/charts' + q);
  if (id !== showing) return;
  if (!res.ok) { content.replaceChildren(el('p', {}, 'No ' + state.kind + ' named ' + state.name)); return; }
  const { html } = await res.json();
  content.innerHTML = html;
  content.dataset.shown = !state.name ? '*' : (state.kind === 'search' ? 'search=' : '') + state.name;
}
document.querySelector('aside').addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a) return;
  e.preventDefault();
  const search = a.dataset.search !== undefined;
  state.kind = search ? 'search' : 'run';
  state.name = search ? a.dataset.search : a.dataset.run;
  history.replaceState(null, '', !state.name ? '#' : '#' + (search ? 'search=' : '') + encodeURIComponent(state.name));
  markSelected();
  show();
});
const events = new EventSource('/api/events');
events.addEventListener('open', () => { live.textContent = 'live: redraws as logs grow and jobs finish'; });
events.addEventListener('error', () => { live.textContent = 'not connected (retrying)'; });
events.addEventListener('change', (e) => {
  const { runs, removed, searches, removedSearches } = JSON.parse(e.data);
  loadRuns();
  const touched = state.kind === 'search' ? [...searches, ...removedSearches] : [...runs, ...removed];
  if (!state.name || touched.includes(state.name)) show();
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
