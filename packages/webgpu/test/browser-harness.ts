/**
 * A static server on 127.0.0.1 for the browser test and the browser bench: the built packages (with an import map
 * for @ecf8/core), the shared test vectors, and a page that exposes the package on `window`.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PKG_DIR = resolve(here, '..');
export const ROOT = resolve(PKG_DIR, '..', '..');

const MOUNTS: Record<string, string> = {
  '/webgpu/': join(PKG_DIR, 'dist'),
  '/core/': join(ROOT, 'packages', 'core', 'dist'),
  '/vectors/': join(ROOT, 'test-vectors'),
  '/bench/': join(PKG_DIR, 'bench'),
};

export const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ecf8 webgpu</title>
<script type="importmap">{ "imports": { "@ecf8/core": "/core/index.js", "@ecf8/webgpu": "/webgpu/index.js" } }</script>
<script type="module">
  import * as core from '@ecf8/core';
  import * as webgpu from '@ecf8/webgpu';
  window.ecf8 = { core, webgpu };
  window.ecf8Ready = true;
</script></head><body>ecf8 webgpu test page</body></html>`;

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

/** Builds dist/ with tsup when it is missing or older than src/ (the browser imports the built package). */
export function ensureBuilt(): void {
  const out = join(PKG_DIR, 'dist', 'index.js');
  if (existsSync(out) && statSync(out).mtimeMs >= newest(join(PKG_DIR, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'tsup', 'dist', 'cli-default.js')], { cwd: PKG_DIR, stdio: 'inherit' });
}

export async function startServer(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const mount = Object.keys(MOUNTS).find((m) => path.startsWith(m));
      if (!mount) throw new Error('not found');
      const base = MOUNTS[mount];
      const file = normalize(join(base, path.slice(mount.length)));
      if (!file.startsWith(base) || !(await stat(file)).isFile()) throw new Error('not found');
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
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
