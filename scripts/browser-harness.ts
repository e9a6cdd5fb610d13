/**
 * Shared by the browser tests and browser benchmarks: a static server on 127.0.0.1 (a browser only exposes WebGPU
 * and, with the isolation headers, SharedArrayBuffer to a secure context, which `about:blank` is not), the build
 * check for the packages a page imports, and how to launch Debian's Chromium.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.json': 'application/json' };

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Builds packages/<name>/dist with tsup, for each name whose dist is missing or older than its src/. */
export function ensureBuilt(...names: string[]): void {
  for (const name of names) {
    const dir = join(ROOT, 'packages', name);
    const out = join(dir, 'dist', 'index.js');
    if (existsSync(out) && statSync(out).mtimeMs >= newest(join(dir, 'src'))) continue;
    execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'inherit' });
  }
}

/**
 * A page that imports the built packages `@ecf8/<name>` (served at `/<name>/`, see packageMounts) and exposes them
 * as `window.ecf8.<name>`, setting `window.ecf8Ready` once loaded. It also defines tsx's keep-names helper
 * `__name`, which functions sent with Playwright's `page.evaluate` from a tsx-run script may call.
 */
export function packagesPage(title: string, names: string[]): string {
  const imports = Object.fromEntries(names.map((x) => [`@ecf8/${x}`, `/${x}/index.js`]));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<script>window.__name = (f) => f;</script>
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
${names.map((x) => `  import * as ${x} from '@ecf8/${x}';`).join('\n')}
  window.ecf8 = { ${names.join(', ')} };
  window.ecf8Ready = true;
</script></head><body>${title}</body></html>`;
}

/** Mounts `/<name>/` -> packages/<name>/dist for packagesPage. */
export function packageMounts(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((x) => [`/${x}/`, join(ROOT, 'packages', x, 'dist')]));
}

/** Response headers that make a page cross-origin isolated (SharedArrayBuffer available to it and its workers). */
export const ISOLATION_HEADERS: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

export interface StaticSite {
  /** URL path prefix (ending in '/') -> directory served under it. */
  mounts: Record<string, string>;
  /** URL path -> HTML page, with the extra headers it is served with. */
  pages: Record<string, { html: string; headers?: Record<string, string> }>;
}

/** Serves `site` on 127.0.0.1 at a free port; paths outside the mounts and pages are 404. */
export async function startStaticServer(site: StaticSite): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      const page = site.pages[path];
      if (page) {
        res.writeHead(200, { 'content-type': 'text/html', ...page.headers }).end(page.html);
        return;
      }
      const mount = Object.keys(site.mounts).find((m) => path.startsWith(m));
      if (!mount) throw new Error('not found');
      const base = site.mounts[mount];
      const file = normalize(join(base, path.slice(mount.length)));
      if (!file.startsWith(base + sep) || !(await stat(file)).isFile()) throw new Error('not found');
      res
        .writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-resource-policy': 'same-origin' })
        .end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server did not bind');
  return { server, url: `http://127.0.0.1:${addr.port}/` };
}

/** Debian's Chromium, unless ECF8_CHROMIUM names another binary. */
export const CHROMIUM = process.env.ECF8_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--headless=new',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
