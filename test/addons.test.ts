/**
 * The addon loader: a missing addon gives its reason and how to build it; loading any addon first
 * sets OMP_WAIT_POLICY=passive (libgomp reads it once, at its own load), unless the user set it.
 * Each case runs in a child process, since the variable matters only before the first load.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const loader = new URL('../src/addons.ts', import.meta.url).href;

/** OMP_WAIT_POLICY after loading `file` in a fresh process with `env`, and the load's reason. */
function loadIn(file: string, env: Record<string, string>) {
  const script =
    `const { loadAddon } = await import(${JSON.stringify(loader)});` +
    `const r = loadAddon(${JSON.stringify(file)}, 'build it');` +
    `console.log(JSON.stringify({ policy: process.env.OMP_WAIT_POLICY ?? null, reason: r.reason ?? null }));`;
  const env0 = { ...process.env, ...env };
  if (!('OMP_WAIT_POLICY' in env)) delete env0.OMP_WAIT_POLICY;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: env0,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { policy: string; reason: string };
}

test('loading an addon sets OMP_WAIT_POLICY=passive, unless the user set it', () => {
  assert.equal(loadIn('anneal_host.node', {}).policy, 'passive');
  assert.equal(loadIn('anneal_host.node', { OMP_WAIT_POLICY: 'active' }).policy, 'active');
});

test('a missing addon says where it looked and how to build it', () => {
  const { reason } = loadIn('no_such_addon.node', {});
  assert.match(
    reason,
    /^no_such_addon\.node is not built \(looked in .*build\/Release.*\); build it$/,
  );
});
